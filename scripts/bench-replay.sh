#!/usr/bin/env bash
# Measures the acceptance figures of replay (issue 4) in one run on this
# machine, and prints them with their ratios:
#
#   1. pacing: replay of pace.pcap.gz (2,000 req/s, 3 s) at --speed 1 against
#      the test bed's legacy NGINX/Lua and candidate, pacing_ms from the
#      summary JSON, RUNS times;
#   2. cutover inspect against tshark -Y http.request on the same generated
#      captures (INSPECT_SIZE each, copies made by scripts/gencap of
#      pace.pcap.gz, small API answers, and of curl.pcap, larger bodies);
#   3. the peak RSS of cutover inspect reading a generated RSS_SIZE capture;
#   4. replay --speed max against two NGINX/Lua instances (legacy as --legacy,
#      the second legacy as --candidate) against wrk on legacy alone, same
#      requests, as many requests in flight, DURATION of wrk.
#
#   scripts/bench-replay.sh [INSPECT_SIZE] [RSS_SIZE] [DURATION] [RUNS]   # default 150M 1G 3s 7
#
# Generated captures live in a temporary directory and are removed at exit.
set -euo pipefail
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
cd "$(dirname "$0")/.."
big=${1:-150M}
huge=${2:-1G}
dur=${3:-3s}
runs=${4:-7}
inflight=32 # replay's exchanges in flight: 64 requests, as many as wrk -c64
load=120M # the replay --speed max capture: 16 copies of pace.pcap.gz, 96,000 requests (about as long as wrk runs)

command -v tshark >/dev/null || CUTOVER_DEPS_EXTRA="tshark:tshark" bash scripts/deps.sh
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/cutover" ./cmd/cutover
go build -o "$work/gencap" ./scripts/gencap
cut="$work/cutover"
py() { python3 -c "$@"; }
# timed OUT CMD...: runs CMD with stdout to /dev/null; OUT gets "seconds maxrss_kb".
timed() {
  local out=$1 rc=0
  shift
  /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null || rc=$?
  tail -1 "$out" >"$out.last" && mv "$out.last" "$out" # after "Command exited with non-zero status"
  return $rc
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)"

# --- test bed: legacy, second legacy, candidate -----------------------------
"$cut" testbed up --secondary --log-level warn >"$work/bed.txt" 2>"$work/bed.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^candidate' "$work/bed.txt" 2>/dev/null && break; sleep 0.1; done
legacy=$(awk '/^legacy /{print $2}' "$work/bed.txt")
secondary=$(awk '/^secondary/{print $2}' "$work/bed.txt")
candidate=$(awk '/^candidate/{print $2}' "$work/bed.txt")
[ -n "$legacy" ] && [ -n "$secondary" ] && [ -n "$candidate" ] || { cat "$work/bed.txt" "$work/bed.log" >&2; exit 1; }

# --- 1. pacing ---------------------------------------------------------------
echo
echo "## pacing: replay replay/testdata/pace.pcap.gz (6,000 requests at 2,000 req/s) --speed 1"
printf '%-4s %8s %8s %8s %8s %8s %8s\n' run p50_ms p90_ms p99_ms max_ms sends cpu_s
for r in $(seq "$runs"); do
  /usr/bin/time -f '%U %S' -o "$work/t" "$cut" replay replay/testdata/pace.pcap.gz --legacy "$legacy" \
    --candidate "$candidate" --speed 1 --progress off --log-level warn --json "$work/pace.json" >/dev/null || true
  cpu=$(awk 'END{print $1+$2}' "$work/t")
  py "import json; p=json.load(open('$work/pace.json'))['pacing_ms']; print('%-4s %8.3f %8.3f %8.3f %8.3f %8d %8s' % ('$r', p['p50'], p['p90'], p['p99'], p['max'], p['count'], '$cpu'))"
done

# --- 2. inspect against tshark ----------------------------------------------
# vs_tshark SOURCE: copies of SOURCE up to $big, read by both, alternating,
# $reads times each; the best time of each (timed to the millisecond) and
# the peak RSS of one more run each.
reads=5
vs_tshark() {
  "$work/gencap" -in "$1" -size "$big" -out "$work/big.pcap" 2>"$work/gencap.log"
  local size_mb
  size_mb=$(py "import os; print(os.path.getsize('$work/big.pcap')>>20)")
  cat "$work/big.pcap" >/dev/null # both read it from the page cache
  echo
  echo "## inspect against tshark: ${size_mb} MB, $(cut -d' ' -f2- "$work/gencap.log")"
  local cut_s ts_s s kb cut_kb ts_kb
  read -r cut_s ts_s < <(py "
import subprocess, time
cmds = [['$cut', 'inspect', '$work/big.pcap'], ['tshark', '-n', '-r', '$work/big.pcap', '-Y', 'http.request']]
best = [1e9, 1e9]
for _ in range($reads):
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best[i] = min(best[i], time.perf_counter() - t)
print('%.3f %.3f' % tuple(best))
")
  timed "$work/t" "$cut" inspect "$work/big.pcap"
  read -r s cut_kb <"$work/t"
  timed "$work/t" tshark -n -r "$work/big.pcap" -Y http.request
  read -r s ts_kb <"$work/t"
  local cut_n tshark_n
  cut_n=$("$cut" inspect --json "$work/big.pcap" | tail -1 | py "import json,sys; print(json.load(sys.stdin)['summary']['requests'])")
  tshark_n=$(tshark -n -r "$work/big.pcap" -Y http.request 2>/dev/null | wc -l)
  printf '%-34s %8s %10s %10s\n' command seconds requests maxrss_MB
  printf '%-34s %8s %10s %10s\n' "cutover inspect F" "$cut_s" "$cut_n" "$((cut_kb / 1024))"
  printf '%-34s %8s %10s %10s\n' "tshark -n -r F -Y http.request" "$ts_s" "$tshark_n" "$((ts_kb / 1024))"
  py "print(f'inspect is {$ts_s/$cut_s:.1f}x faster than tshark ({$size_mb/$cut_s:.0f} MB/s against {$size_mb/$ts_s:.0f} MB/s); target >= 20x')"
  rm -f "$work/big.pcap"
}
vs_tshark replay/testdata/pace.pcap.gz # small API answers: packet- and header-bound
vs_tshark replay/testdata/curl.pcap    # pages, uploads, a 1 MB answer: byte-bound

# --- 3. RSS on a big capture ---------------------------------------------------
"$work/gencap" -in replay/testdata/pace.pcap.gz -size "$huge" -out "$work/huge.pcap" 2>"$work/gencap.log"
size_mb=$(py "import os; print(os.path.getsize('$work/huge.pcap')>>20)")
echo
echo "## memory: cutover inspect on a ${size_mb} MB capture, $(cut -d' ' -f2- "$work/gencap.log")"
timed "$work/t.huge" "$cut" inspect "$work/huge.pcap"
read -r huge_s huge_kb <"$work/t.huge"
echo "table output: ${huge_s} s, max RSS $((huge_kb / 1024)) MB (target < 256 MB)"
timed "$work/t.huge" "$cut" inspect --json "$work/huge.pcap"
read -r huge_s huge_kb <"$work/t.huge"
echo "--json output: ${huge_s} s, max RSS $((huge_kb / 1024)) MB"
rm -f "$work/huge.pcap"

# --- 4. replay --speed max against wrk ---------------------------------------
# Alternating rounds, so that the load of whatever else runs on the machine
# weighs on both alike; the ratio of each round and their median. wrk runs
# with 32 and with 64 connections and the better rate is the one replay is
# held to; replay runs $inflight exchanges at once, that is 2 x $inflight
# requests in flight on as many connections, as many as wrk's 64. (More
# exchanges in flight only slow everything down on 2 cores.)
"$work/gencap" -in replay/testdata/pace.pcap.gz -size "$load" -out "$work/load.pcap" 2>"$work/gencap.log"
cat >"$work/mix.lua" <<'LUA'
-- the requests of pace.pcap.gz, in turn: same paths, same headers
local paths = {"/edge/health", "/api/items/1", "/text", "/api/items/2?x=1"}
wrk.headers["User-Agent"] = "Go-http-client/1.1"
wrk.headers["Accept-Encoding"] = "gzip"
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
echo
echo "## replay --speed max --concurrency $inflight of $(cut -d' ' -f2- "$work/gencap.log") to legacy + second legacy;"
echo "## wrk -t2 -c32 and -c64 -d$dur (same requests) to legacy alone, the better of the two; $runs alternating rounds"
printf '%-6s %10s %10s %18s %16s %8s %12s\n' round wrk_c32 wrk_c64 replay_exchanges/s replay_req_sent/s ratio replay_cpu_s
: >"$work/ratios"
for r in $(seq "$runs"); do
  wrk -t2 -c32 -d"$dur" -s "$work/mix.lua" "$legacy" >"$work/wrk32.txt"
  /usr/bin/time -f '%U %S' -o "$work/t" "$cut" replay "$work/load.pcap" --legacy "$legacy" --candidate "$secondary" \
    --speed max --concurrency "$inflight" --progress off --log-level warn --json "$work/max.json" >/dev/null || true
  wrk -t2 -c64 -d"$dur" -s "$work/mix.lua" "$legacy" >"$work/wrk64.txt"
  w32=$(awk '/^Requests\/sec/{print $2}' "$work/wrk32.txt")
  w64=$(awk '/^Requests\/sec/{print $2}' "$work/wrk64.txt")
  cpu=$(tail -1 "$work/t" | awk '{print $1+$2}')
  py "
import json
s = json.load(open('$work/max.json'))
r, c = s['extra']['replay'], s['counts']
assert c['compared'] == r['sent'], c
ratio = r['rate'] / max($w32, $w64)
open('$work/ratios', 'a').write(f'{ratio}\\n')
print('%-6s %10.0f %10.0f %18.0f %16.0f %8.2f %12s' % ('$r', $w32, $w64, r['rate'], 2 * r['rate'], ratio, '$cpu'))
"
done
py "
import statistics
rs = [float(x) for x in open('$work/ratios')]
print(f'median ratio replay exchanges/s over the better wrk requests/s: {statistics.median(rs):.2f} (target >= 0.40); each exchange is 2 NGINX requests')
"
