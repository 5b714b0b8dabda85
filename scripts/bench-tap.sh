#!/usr/bin/env bash
# Measures cutover tap on loopback against the test bed's real NGINX/Lua
# legacy, wrk as the clients, a candidate NGINX/Lua edge with item 7 changed:
#   - rounds alternate wrk without and with the tap capturing live, so that
#     drift hits both alike: wrk's p50/p99 and rate with the tap over without;
#   - in each tap round, the tap's compared item requests against NGINX's
#     access log (what it followed without loss), and the reasons of the rest;
#   - keep-alive, a new connection per request (Connection: close), and
#     pipelined (16 requests per write) loads;
#   - RSS of the tap sampled every second over a steady run of STEADY.
#
#   scripts/bench-tap.sh [DURATION] [CONNECTIONS] [ROUNDS] [STEADY]
#
# TAP_ARGS are added to the tap's flags: TAP_ARGS="--concurrency 1 --queue 1"
# measures the capture alone (reading, reassembly, parsing; nearly every
# request skipped as queue_full instead of sent), which is what decides
# whether the tap keeps up with NGINX, apart from the candidate's own cost
# on this shared machine. STEADY=0 skips the steady run.
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
cd "$(dirname "$0")/.."
dur=${1:-5s}
conns=${2:-16}
rounds=${3:-3}
steady=${4:-120}

go build -o bin/cutover ./cmd/cutover
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

bin/cutover testbed up --log-level warn --candidate-edge '{"path":"/api/items/7","field":"price","value":999}' >"$work/bed.txt" &
pids+=($!)
for _ in $(seq 100); do grep -q '^candidate' "$work/bed.txt" 2>/dev/null && break; sleep 0.1; done
legacy=$(awk '/^legacy /{print $2}' "$work/bed.txt")
log=$(awk '/^legacy /{print $5}' "$work/bed.txt" | tr -d ')')
candidate=$(awk '/^candidate/{print $2}' "$work/bed.txt")
port=${legacy##*:}

cat >"$work/items.lua" <<'LUA'
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/items/" .. (i % 10 + 1))
end
LUA
cat >"$work/pipeline.lua" <<'LUA'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format("GET", "/api/items/" .. (i % 10 + 1)) end
  req = table.concat(r)
end
request = function() return req end
LUA

# wrkrun NAME ARGS...: wrk's rate, p50 and p99 (ms) on one line.
wrkrun() {
  wrk --latency "$@" 2>&1 | awk '
    /Requests\/sec/ {rate=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    END {printf "%s %.3f %.3f\n", rate, ms(p50), ms(p99)}'
}

admin=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# settle waits until the tap has compared all it read (its counts stop moving).
settle() {
  local last=-1 now
  for _ in $(seq 240); do
    sleep 1
    now=$(curl -sf "http://127.0.0.1:$admin/summary" | jq -c '.counts | [.requests, .compared]' || echo x)
    [ "$now" = "$last" ] && return
    last=$now
  done
}

items() { grep -c '"uri":"/api/items/' "$log" || true; }

echo "load rate_off p50_off p99_off rate_on p50_on p99_on nginx_items tap_compared tap_requests kernel_drops tap_skipped"
for load in keepalive close pipelined; do
  case $load in
  keepalive) args=(-t2 -c"$conns" -d"$dur" -s "$work/items.lua") ;;
  close) args=(-t2 -c"$conns" -d"$dur" -s "$work/items.lua" -H "Connection: close") ;;
  pipelined) args=(-t2 -c"$conns" -d"$dur" -s "$work/pipeline.lua") ;;
  esac
  for r in $(seq "$rounds"); do
    off=$(wrkrun "${args[@]}" "$legacy")
    : >"$log"
    bin/cutover tap --interface lo --port "$port" --candidate "$candidate" --json "$work/tap.json" --queue 1000000 --admin "127.0.0.1:$admin" ${TAP_ARGS:-} >/dev/null 2>"$work/tap.err" &
    tp=$!
    sleep 1
    on=$(wrkrun "${args[@]}" "$legacy")
    n=$(items)
    settle
    kill -TERM $tp; wait $tp || true
    compared=$(jq '[.endpoints[] | select(.endpoint=="GET /api/items/{id}") | .compared] | add // 0' "$work/tap.json")
    skipped=$(jq -c '.counts.skipped' "$work/tap.json")
    read_n=$(jq '[.endpoints[] | select(.endpoint=="GET /api/items/{id}") | .requests] | add // 0' "$work/tap.json")
    drops=$(jq '.extra.tap.kernel_drops' "$work/tap.json")
    echo "$load $off $on $n $compared $read_n $drops $skipped"
  done
done

# Steady run: RSS of the tap every second.
[ "$steady" = 0 ] && exit 0
: >"$log"
bin/cutover tap --interface lo --port "$port" --candidate "$candidate" --json "$work/steady.json" --admin "127.0.0.1:$admin" >/dev/null 2>"$work/steady.err" &
tp=$!
sleep 1
wrk -t2 -c"$conns" -d"${steady}s" -s "$work/items.lua" "$legacy" >/dev/null &
wp=$!
for s in $(seq "$steady"); do
  sleep 1
  echo "rss_kb $s $(ps -o rss= -p $tp)"
done
wait $wp || true
settle
kill -TERM $tp; wait $tp || true
echo "steady: nginx items $(items), tap $(jq -c '.counts' "$work/steady.json")"
