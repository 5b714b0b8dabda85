#!/usr/bin/env bash
# Decrypted capture reading: cutover inspect --tls-keylog against tshark
# decrypting the same capture with the same key log, on copies of
# replay/testdata/tls.pcap (curl against NGINX: HTTP/1.1 and HTTP/2 over
# TLS 1.2 and 1.3, AES-GCM and ChaCha20-Poly1305, and h2c) up to SIZE,
# made by scripts/gencap (every copy's clients on their own address; the
# sessions, and so the key log, are the same). Both are run alternately
# ROUNDS times; the best time of each, MB/s and their ratio are printed,
# with the requests each found.
#
#   bash scripts/bench-tls.sh [SIZE [ROUNDS]]     # default 40M 5
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-40M}
rounds=${2:-5}
command -v tshark >/dev/null || { echo "tshark is needed (scripts/deps.sh)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/cutover" ./cmd/cutover
go build -o "$work/gencap" ./scripts/gencap
keys=replay/testdata/tls.keys.log
"$work/gencap" -in replay/testdata/tls.pcap -size "$size" -out "$work/big.pcap" 2>"$work/gencap.log"
# The h2c connections of the capture are on this port (the only requests
# found without the key log): tshark is told so.
h2c=$("$work/cutover" inspect --json replay/testdata/tls.pcap | head -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['server'].rsplit(':', 1)[1])")
mb=$(python3 -c "import os; print(os.path.getsize('$work/big.pcap')/2**20)")
cat "$work/big.pcap" >/dev/null # both read it from the page cache
echo "## decrypted reading: $(printf %.0f "$mb") MB, $(cut -d' ' -f2- "$work/gencap.log"), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work" "$keys" "$h2c" "$mb" "$rounds" <<'EOF'
import subprocess, sys, time
work, keys, h2c, mb, rounds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
big = work + '/big.pcap'
cmds = {
    'cutover': [work + '/cutover', 'inspect', '--tls-keylog', keys, big],
    'tshark': ['tshark', '-n', '-r', big, '-o', 'tls.keylog_file:' + keys, '-d', 'tcp.port==%s,http2' % h2c,
               '-Y', 'http.request or http2.headers.method'],
}
best = {k: 1e9 for k in cmds}
ratios = []
for _ in range(rounds):
    t = {}
    for name, c in cmds.items():
        s = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        t[name] = time.perf_counter() - s
        best[name] = min(best[name], t[name])
    ratios.append(t['tshark'] / t['cutover'])
ours = subprocess.run(cmds['cutover'][:2] + ['--json'] + cmds['cutover'][2:], capture_output=True, text=True, check=True).stdout
import json
summary = json.loads(ours.strip().splitlines()[-1])['summary']
# tshark prints one line per frame; an HTTP/2 frame may carry several
# streams' headers: count the methods.
out = subprocess.run(cmds['tshark'][:-2] + ['-Y', cmds['tshark'][-1], '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
                                           '-e', 'http.request.method', '-e', 'http2.headers.method'],
                     capture_output=True, text=True, check=True).stdout
theirs = sum(len([m for m in line.replace('\t', ',').split(',') if m]) for line in out.splitlines())
ratios.sort()
print('%-10s %9s %8s %9s' % ('reader', 'best_s', 'MB/s', 'requests'))
print('%-10s %9.3f %8.0f %9d' % ('cutover', best['cutover'], mb / best['cutover'], summary['requests']))
print('%-10s %9.3f %8.1f %9d' % ('tshark', best['tshark'], mb / best['tshark'], theirs))
print('cutover is %.1fx tshark (best times); per round: %s; median %.1fx; target >= 10x' % (
    best['tshark'] / best['cutover'], ' '.join('%.1f' % r for r in ratios), ratios[len(ratios) // 2]))
EOF
