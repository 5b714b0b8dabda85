#!/usr/bin/env bash
# Compares cutover mirror with NGINX's own `mirror` directive, side by side
# in one run on this machine: both in front of the same two upstreams (the
# test bed's legacy NGINX/Lua as primary, its second legacy as shadow),
# driven by the same wrk load, alternating so that drift hits both alike.
#
#   scripts/bench-mirror.sh [DURATION] [CONNECTIONS] [ROUNDS]
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
cd "$(dirname "$0")/.."
dur=${1:-10s}
conns=${2:-32}
rounds=${3:-2}
path=/api/items/42

go build -o bin/cutover ./cmd/cutover
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/front/nginx.pid" ] && kill "$(cat "$work/front/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bin/cutover testbed up --secondary --log-level warn >"$work/bed.txt" &
pids+=($!)
for _ in $(seq 100); do grep -q '^candidate' "$work/bed.txt" 2>/dev/null && break; sleep 0.1; done
legacy=$(awk '/^legacy /{print $2}' "$work/bed.txt" | sed 's|http://||')
shadow=$(awk '/^secondary/{print $2}' "$work/bed.txt" | sed 's|http://||')

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
front_port=$(port)
mirror_port=$(port)
admin_port=$(port)
mkdir -p "$work/front"
cat >"$work/front/nginx.conf" <<CONF
worker_processes auto;
daemon on;
pid $work/front/nginx.pid;
error_log $work/front/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/front/body;
  proxy_temp_path $work/front/proxy;
  upstream primary { server $legacy; keepalive 128; }
  upstream shadow { server $shadow; keepalive 128; }
  server {
    listen 127.0.0.1:$front_port;
    location / {
      mirror /__mirror;
      proxy_pass http://primary;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location = /__mirror {
      internal;
      proxy_pass http://shadow\$request_uri;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
nginx -p "$work/front" -c "$work/front/nginx.conf"

bin/cutover mirror --listen "127.0.0.1:$mirror_port" --admin "127.0.0.1:$admin_port" --log-level warn \
  --legacy "http://$legacy" --candidate "http://$shadow" --workers 64 --queue 4096 >/dev/null 2>"$work/mirror.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$mirror_port$path" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$front_port$path"

# wrk prints "Requests/sec: N" and, with --latency, "99% Xms".
measure() {
  wrk -t2 -c"$conns" -d"$dur" --latency "$1" >"$work/wrk.txt"
  rps=$(awk '/^Requests\/sec/{print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%"{v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$work/wrk.txt")
  echo "$rps $p99"
}
echo "wrk -t2 -c$conns -d$dur, $rounds rounds, GET $path; primary legacy NGINX/Lua, shadow second NGINX/Lua"
printf '%-8s %-16s %12s %10s\n' round front req/s p99_ms
sum_n=0; sum_c=0; p_n=0; p_c=0
for r in $(seq "$rounds"); do
  read -r n_rps n_p99 < <(measure "http://127.0.0.1:$front_port$path")
  printf '%-8s %-16s %12s %10s\n' "$r" "nginx mirror" "$n_rps" "$n_p99"
  read -r c_rps c_p99 < <(measure "http://127.0.0.1:$mirror_port$path")
  printf '%-8s %-16s %12s %10s\n' "$r" "cutover mirror" "$c_rps" "$c_p99"
  sum_n=$(python3 -c "print($sum_n+$n_rps)"); sum_c=$(python3 -c "print($sum_c+$c_rps)")
  p_n=$(python3 -c "print($p_n+$n_p99)"); p_c=$(python3 -c "print($p_c+$c_p99)")
done
python3 -c "print(f'throughput ratio cutover/nginx: {$sum_c/$sum_n:.2f}x   p99 ratio cutover/nginx: {$p_c/$p_n:.2f}x')"
# What cutover did with the copies: compared, or dropped to protect clients.
curl -s "http://127.0.0.1:$admin_port/summary" >"$work/summary.json"
python3 - "$work/summary.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
print("cutover mirror: %d requests, %d compared, %d different, skipped %s" % (c["requests"], c["compared"], c["different"], c["skipped"]))
PY
