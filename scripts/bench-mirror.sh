#!/usr/bin/env bash
# Compares cutover mirror with NGINX's own `mirror` directive, in one run on
# this machine, in alternating rounds so that drift and the other work on
# the box hit both alike. Two setups:
#
#   proxy-bound: two NGINX/Lua upstreams that answer a ~400-byte JSON from
#     Lua alone (no origin behind them), so that the proxies are what is
#     measured; the NGINX front has worker_processes auto and keepalive to
#     both;
#   origin-bound: the test bed's legacy NGINX/Lua as primary and its second
#     legacy as shadow, both in front of the test bed's Go origin;
#   aa: the A/A calibration: cutover mirror between the test bed's legacy and
#     its second legacy (the same NGINX/Lua config) at weights 0, 50 and 100,
#     wrk -t1 -c2 as 1,000 users (X-User), then with +2 ms on the candidate
#     (the test bed's candidate with a latency switch): the candidate/legacy
#     p50 and p99 ratios and the latency verdict of each.
#
# Each round runs wrk -t2 -cCONNECTIONS for DURATION against the NGINX front,
# then against cutover mirror. It prints req/s and p99 per round, the ratios
# of the sums, the machine's load average, and what cutover did with every
# copy (compared, or skipped and why).
#
#   scripts/bench-mirror.sh [DURATION] [CONNECTIONS] [ROUNDS] [SETUPS]
#   # defaults: 10s 32 3 "proxy origin aa"
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
cd "$(dirname "$0")/.."
dur=${1:-10s}
conns=${2:-32}
rounds=${3:-3}
setups=${4:-proxy origin aa}
aa_failed=0
modules=/usr/lib/nginx/modules

go build -o bin/cutover ./cmd/cutover
work=$(mktemp -d)
pids=()
nginxes=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "${nginxes[@]}"; do [ -f "$n/nginx.pid" ] && kill "$(cat "$n/nginx.pid")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# lua_upstream DIR PORT NAME: an NGINX/Lua instance, one worker like the
# test bed's legacy, answering every request with the same ~400-byte JSON.
lua_upstream() {
  local dir=$1 p=$2 name=$3
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
load_module $modules/ndk_http_module.so;
load_module $modules/ngx_http_lua_module.so;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body;
  server {
    listen 127.0.0.1:$p;
    location / {
      default_type application/json;
      content_by_lua_block {
        ngx.say('{"id":42,"name":"Widget 42","price":{"amount":1999,"currency":"EUR"},"stock":{"count":17,"warehouse":"ams-1"},"tags":["blue","small","sale"],"description":"A small blue widget, the kind an edge proxy serves by the million. Nothing in it changes from one answer to the next.","server":"$name","links":{"self":"/api/items/42","reviews":"/api/items/42/reviews"}}')
      }
    }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf"
  nginxes+=("$dir")
}

# front DIR PORT PRIMARY SHADOW: NGINX with its own mirror directive.
front() {
  local dir=$1 p=$2 primary=$3 shadow=$4
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes auto;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  upstream primary { server $primary; keepalive 128; }
  upstream shadow { server $shadow; keepalive 128; }
  server {
    listen 127.0.0.1:$p;
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
  nginx -p "$dir" -c "$dir/nginx.conf"
  nginxes+=("$dir")
}

# wrk prints "Requests/sec: N" and, with --latency, "99% Xms".
measure() {
  wrk -t2 -c"$conns" -d"$dur" --latency "$1" >"$work/wrk.txt"
  rps=$(awk '/^Requests\/sec/{print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%"{v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$work/wrk.txt")
  echo "$rps $p99"
}

# run SETUP PRIMARY SHADOW PATH
run() {
  local setup=$1 primary=$2 shadow=$3 path=$4
  local front_port mirror_port admin_port
  front_port=$(port); mirror_port=$(port); admin_port=$(port)
  front "$work/$setup-front" "$front_port" "$primary" "$shadow"
  bin/cutover mirror --listen "127.0.0.1:$mirror_port" --admin "127.0.0.1:$admin_port" --log-level warn \
    --legacy "http://$primary" --candidate "http://$shadow" --workers 64 --queue 4096 >/dev/null 2>"$work/$setup-mirror.log" &
  local mirror_pid=$!
  pids+=("$mirror_pid")
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$mirror_port$path" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$front_port$path"
  # Warm both: connections, NGINX workers, the Go runtime.
  wrk -t2 -c"$conns" -d2s "http://127.0.0.1:$front_port$path" >/dev/null
  wrk -t2 -c"$conns" -d2s "http://127.0.0.1:$mirror_port$path" >/dev/null
  local before
  before=$(curl -s "http://127.0.0.1:$admin_port/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["requests"])')

  echo
  echo "== $setup-bound: wrk -t2 -c$conns -d$dur, $rounds rounds, GET $path; primary $primary, shadow $shadow"
  echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-6s %-15s %10s %9s\n' round front req/s p99_ms
  local sum_n=0 sum_c=0 p_n=0 p_c=0 n_rps n_p99 c_rps c_p99
  for r in $(seq "$rounds"); do
    read -r n_rps n_p99 < <(measure "http://127.0.0.1:$front_port$path")
    printf '%-6s %-15s %10s %9s\n' "$r" "nginx mirror" "$n_rps" "$n_p99"
    read -r c_rps c_p99 < <(measure "http://127.0.0.1:$mirror_port$path")
    printf '%-6s %-15s %10s %9s\n' "$r" "cutover mirror" "$c_rps" "$c_p99"
    sum_n=$(python3 -c "print($sum_n+$n_rps)"); sum_c=$(python3 -c "print($sum_c+$c_rps)")
    p_n=$(python3 -c "print($p_n+$n_p99)"); p_c=$(python3 -c "print($p_c+$c_p99)")
  done
  echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 -c "print(f'   {\"$setup\"}-bound: throughput cutover/nginx {$sum_c/$sum_n:.2f}x, p99 cutover/nginx {$p_c/$p_n:.2f}x (sums of the rounds)')"
  # What cutover did with the copies: compared, or dropped to protect clients.
  for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$admin_port/status" | python3 -c 'import json,sys; s=json.load(sys.stdin)["shadow"]; sys.exit(0 if s["queued"]==0 and s["in_flight"]==0 else 1)' && break
    sleep 0.1
  done
  curl -s "http://127.0.0.1:$admin_port/summary" >"$work/summary.json"
  python3 - "$work/summary.json" "$before" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
before = int(sys.argv[2])
print("   cutover mirror: %d requests (%d in the measured rounds), %d compared, %d different, failed %s, skipped %s" % (
    c["requests"], c["requests"] - before, c["compared"], c["different"], c["failed"], c["skipped"]))
PY
  kill "$mirror_pid" 2>/dev/null || true
  kill "$(cat "$work/$setup-front/nginx.pid")" 2>/dev/null || true
}

# aa_run LEGACY CANDIDATE WEIGHT LABEL: one A/A (or A/B) measurement.
aa_run() {
  local legacy=$1 candidate=$2 weight=$3 label=$4 mp ap
  mp=$(port); ap=$(port)
  bin/cutover mirror --listen "127.0.0.1:$mp" --admin "127.0.0.1:$ap" --log-level warn --weight "$weight" \
    --split-key header:X-User --legacy "$legacy" --candidate "$candidate" >/dev/null 2>"$work/aa-mirror.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$mp/api/items/1" && break; sleep 0.1; done
  wrk -t1 -c2 -d2s -s "$work/users.lua" "http://127.0.0.1:$mp" >/dev/null # warm
  local before
  before=$(curl -s "http://127.0.0.1:$ap/summary")
  wrk -t1 -c2 -d"$dur" -s "$work/users.lua" "http://127.0.0.1:$mp" >/dev/null
  for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$ap/status" | python3 -c 'import json,sys; s=json.load(sys.stdin)["shadow"]; sys.exit(0 if s["queued"]==0 and s["in_flight"]==0 else 1)' && break
    sleep 0.1
  done
  curl -s "http://127.0.0.1:$ap/summary" | python3 -c '
import json, sys
s = json.load(sys.stdin); v = s["latency_verdict"]; l = s["latency_ms"]
if sys.argv[1] == "A/A":  # the issue'"'"'s margins
    ok = v["status"] != "regression" and 0.9 <= v["p50_ratio"] <= 1.1 and 0.8 <= v["p99_ratio"] <= 1.25
else:
    ok = v["status"] == "regression"
print("   %-14s weight %3s: %6d compared, p50 ratio %.3f, p99 ratio %.3f (legacy p50 %.3f p99 %.3f ms), %s: %s" % (
    sys.argv[1], sys.argv[2], s["counts"]["compared"], v["p50_ratio"], v["p99_ratio"], l["legacy"]["p50"], l["legacy"]["p99"], v["status"],
    "as expected" if ok else "NOT AS EXPECTED (A/A: p50 0.9-1.1, p99 0.8-1.25, no regression; +2 ms: a regression)"))
sys.exit(0 if ok else 1)
' "$label" "$weight" || aa_failed=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

for setup in $setups; do
  case $setup in
  proxy)
    a=$(port); b=$(port)
    lua_upstream "$work/lua-a" "$a" legacy
    lua_upstream "$work/lua-b" "$b" legacy
    sleep 0.3
    run proxy "127.0.0.1:$a" "127.0.0.1:$b" /api/items/42
    ;;
  origin)
    bin/cutover testbed up --secondary --log-level warn >"$work/bed.txt" &
    pids+=($!)
    for _ in $(seq 100); do grep -q '^candidate' "$work/bed.txt" 2>/dev/null && break; sleep 0.1; done
    legacy=$(awk '/^legacy /{print $2}' "$work/bed.txt" | sed 's|http://||')
    shadow=$(awk '/^secondary/{print $2}' "$work/bed.txt" | sed 's|http://||')
    run origin "$legacy" "$shadow" /api/items/42
    ;;
  aa)
    cat >"$work/users.lua" <<'LUA'
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/items/" .. (1 + i % 50), {["X-User"] = tostring(i * 7919 % 1000)})
end
LUA
    bin/cutover testbed up --secondary --switches '{"latency":{"fixed":"2ms"}}' --log-level warn >"$work/aa-bed.txt" &
    pids+=($!)
    for _ in $(seq 100); do grep -q '^candidate' "$work/aa-bed.txt" 2>/dev/null && break; sleep 0.1; done
    legacy=$(awk '/^legacy /{print $2}' "$work/aa-bed.txt")
    second=$(awk '/^secondary/{print $2}' "$work/aa-bed.txt")
    slow=$(awk '/^candidate/{print $2}' "$work/aa-bed.txt")
    echo
    echo "== A/A: cutover mirror, wrk -t1 -c2 -d$dur per weight as 1,000 users; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for w in 0 50 100; do aa_run "$legacy" "$second" "$w" "A/A"; done
    for w in 0 50 100; do aa_run "$legacy" "$slow" "$w" "candidate +2ms"; done
    echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    ;;
  esac
done
exit "$aa_failed"
