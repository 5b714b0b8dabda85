#!/usr/bin/env bash
# Measures cutover tap on loopback against the test bed's real NGINX/Lua
# legacy, wrk as the clients, and a real NGINX/Lua candidate (the same edge
# with one field of one endpoint changed: /api/items/7's price):
#   - rounds alternate wrk without and with the tap capturing live, so that
#     drift hits both alike: wrk's p50/p99 and rate with the tap over without;
#   - in each tap round, the tap's compared requests against NGINX's access
#     log, the reasons of the rest, the differences found against the log's
#     /api/items/7 requests, the fields they were on, and the tap's CPU per
#     request;
#   - keep-alive, a new connection per request (Connection: close), and
#     pipelined (16 requests per write) loads;
#   - RSS of the tap sampled every RSS_EVERY seconds over a steady run of
#     STEADY seconds at STEADY_RATE req/s (keep-alive).
#
#   scripts/bench-tap.sh [DURATION] [CONNECTIONS] [ROUNDS] [STEADY]
#
# RATE=N paces wrk at N req/s in both kinds of round (a schedule kept by
# each wrk thread in its delay() hook: wrk has no fixed-rate mode); without
# it wrk runs flat out. LOADS picks the loads ("keepalive close pipelined").
# TAP_ARGS are added to the tap's flags: TAP_ARGS="--concurrency 1 --queue 1"
# measures the capture alone (reading, reassembly, parsing; nearly every
# request skipped as queue_full instead of sent). KEEP=DIR keeps each tap
# round's summary JSON and access log there; TAP_ENV (e.g. GOMAXPROCS=1)
# is the tap's environment. STEADY=0 skips the steady
# run; STEADY_ONLY=1 runs only it. CONTROL=1 (with RATE) adds a control
# round before each tap round: legacy's clients while a second wrk sends
# the candidate the same requests at the same rate, keep-alive, and no tap:
# what serving every request twice on these 2 cores costs legacy's clients,
# so that the tap's own share is the tap round against the control.
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
cd "$(dirname "$0")/.."
dur=${1:-5s}
conns=${2:-16}
rounds=${3:-3}
steady=${4:-120}
rate=${RATE:-0}
loads=${LOADS:-keepalive close pipelined}
[ "${STEADY_ONLY:-0}" = 1 ] && loads=""
steady_rate=${STEADY_RATE:-2000}
rss_every=${RSS_EVERY:-5}

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

# script NAME BATCH RATE: wrk's Lua, asking /api/items/1..10 in turn, BATCH
# requests per write; at RATE > 0 each of wrk's 2 threads keeps a schedule
# of RATE/2 writes' worth of requests a second (delay() returns the time to
# the thread's next slot, so a late answer does not lower the rate).
script() {
  local name=$1 batch=$2 r=$3
  {
    cat <<LUA
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long sec; long nsec; } cutover_ts; int clock_gettime(int, cutover_ts *); ]]
local ts = ffi.new("cutover_ts")
local function now() ffi.C.clock_gettime(1, ts); return tonumber(ts.sec) * 1000 + tonumber(ts.nsec) / 1e6 end
local batch, rate = $batch, $r
local i, nextslot = 0, nil
request = function()
  local r = {}
  for _ = 1, batch do
    i = i + 1
    r[#r + 1] = wrk.format("GET", "/api/items/" .. (i % 10 + 1))
  end
  return table.concat(r)
end
LUA
    if [ "$r" != 0 ]; then
      cat <<'LUA'
local interval = 2 * batch * 1000 / rate -- ms between writes of one thread
delay = function()
  local t = now()
  if nextslot == nil or nextslot < t - 1000 then nextslot = t end
  nextslot = nextslot + interval
  return math.max(0, math.floor(nextslot - t))
end
LUA
    fi
  } >"$work/$name.lua"
}
script items 1 "$rate"
script pipeline 16 "$rate"
script steady 1 "$steady_rate"

# wrkrun ARGS...: wrk's rate, p50 and p99 (ms) on one line.
wrkrun() {
  wrk --latency "$@" 2>&1 | awk '
    /Requests\/sec/ {rate=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    END {printf "%s %.3f %.3f\n", rate, ms(p50), ms(p99)}'
}

admin=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# settle waits until the tap has compared all it read: its counts have not
# moved for 3 s (more than the reader's 1 s flush of idle streams).
settle() {
  local last=-1 now still=0
  for _ in $(seq 240); do
    sleep 1
    now=$(curl -sf "http://127.0.0.1:$admin/summary" | jq -c '.counts | [.requests, .compared]' || echo x)
    if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; fi
    [ $still -ge 3 ] && return
    last=$now
  done
}
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# The log's item answers NGINX put on the wire: one logged 200 after wrk
# reset the connection has bytes_sent 0 and is in no capture.
items() { grep '"uri":"/api/items/' "$log" | grep -vc '"bytes_sent":0,' || true; }
item7() { grep '"uri":"/api/items/7"' "$log" | grep -vc '"bytes_sent":0,' || true; }
ep='.endpoints[] | select(.endpoint=="GET /api/items/{id}")'

echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') rate=$rate conns=$conns dur=$dur"
echo "load rate_off p50_off p99_off rate_on p50_on p99_on nginx_items tap_compared tap_requests kernel_drops tap_skipped nginx_item7 tap_different reported_fields tap_cpu_us_per_req${CONTROL:+ rate_ctl p50_ctl p99_ctl}"
for load in $loads; do
  case $load in
  keepalive) args=(-t2 -c"$conns" -d"$dur" -s "$work/items.lua") ;;
  close) args=(-t2 -c"$conns" -d"$dur" -s "$work/items.lua" -H "Connection: close") ;;
  pipelined) args=(-t2 -c"$conns" -d"$dur" -s "$work/pipeline.lua") ;;
  esac
  for r in $(seq "$rounds"); do
    off=$(wrkrun "${args[@]}" "$legacy")
    ctl=""
    if [ "${CONTROL:-0}" = 1 ]; then
      wrk -t2 -c64 -d"$(( ${dur%s} + 2 ))s" -s "$work/items.lua" "$candidate" >/dev/null 2>&1 &
      cw=$!
      sleep 1
      ctl=" $(wrkrun "${args[@]}" "$legacy")"
      wait $cw || true
    fi
    # wrk stops with a request in flight on each connection: NGINX logs
    # those as it finishes them, after wrk has exited.
    sleep 1
    : >"$log"
    env ${TAP_ENV:-} bin/cutover tap --interface lo --port "$port" --candidate "$candidate" --json "$work/tap.json" --queue 1000000 --admin "127.0.0.1:$admin" ${TAP_ARGS:-} >/dev/null 2>"$work/tap.err" &
    tp=$!
    sleep 1
    c0=$(cpu_ticks $tp)
    on=$(wrkrun "${args[@]}" "$legacy")
    settle
    n=$(items)
    n7=$(item7)
    c1=$(cpu_ticks $tp)
    kill -TERM $tp; wait $tp || true
    compared=$(jq "[$ep | .compared] | add // 0" "$work/tap.json")
    skipped=$(jq -c '.counts.skipped' "$work/tap.json")
    read_n=$(jq "[$ep | .requests] | add // 0" "$work/tap.json")
    different=$(jq '.counts.different' "$work/tap.json")
    fields=$(jq -c '[.endpoints[].fields[]? | select(.reported) | "\(.path)=\(.count)"]' "$work/tap.json")
    drops=$(jq '.extra.tap.kernel_drops' "$work/tap.json")
    [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$work/tap.json" "$KEEP/$load-$r.json" && cp "$log" "$KEEP/$load-$r.log"
    us=$(awk -v t=$((c1 - c0)) -v n="$read_n" 'BEGIN { if (n > 0) printf "%.1f", t * 10000 / n; else print "-" }')
    echo "$load $off $on $n $compared $read_n $drops $skipped $n7 $different $fields $us$ctl"
  done
done
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')"

# Steady run: RSS of the tap every RSS_EVERY seconds, wrk paced.
[ "$steady" = 0 ] && exit 0
: >"$log"
bin/cutover tap --interface lo --port "$port" --candidate "$candidate" --json "$work/steady.json" --admin "127.0.0.1:$admin" >/dev/null 2>"$work/steady.err" &
tp=$!
sleep 1
echo "# steady $steady s at $steady_rate req/s, $(uptime | sed 's/.*load/load/')"
wrk -t2 -c"$conns" -d"${steady}s" -s "$work/steady.lua" "$legacy" >"$work/steady.wrk" &
wp=$!
for s in $(seq "$rss_every" "$rss_every" "$steady"); do
  sleep "$rss_every"
  echo "rss_kb $s $(ps -o rss= -p $tp) $(curl -sf "http://127.0.0.1:$admin/summary" | jq -c '.counts | [.requests, .compared]')"
done
wait $wp || true
grep -E 'Requests/sec|requests in' "$work/steady.wrk"
settle
kill -TERM $tp; wait $tp || true
echo "steady: nginx items $(items), item 7 $(item7), tap $(jq -c '.counts' "$work/steady.json"), reported $(jq -c '[.endpoints[].fields[]? | select(.reported) | "\(.path)=\(.count)"]' "$work/steady.json")"
echo "# $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')"
