#!/usr/bin/env bash
# Makes the test captures of package replay from the real test bed: tcpdump on
# loopback while real curl, wrk and a raw socket (pipelining) talk to the
# legacy NGINX/Lua edge, with NGINX's access log kept next to each capture as
# the oracle of what was sent. Run as root (tcpdump) from the repository root:
#
#   bash scripts/make-captures.sh [OUT_DIR]     # default replay/testdata
#
# Captures:
#   curl.pcap     -i lo, pcap (µs): keep-alive, chunked upload, 100-continue,
#                 HEAD, HTTP/1.0, IPv6, gzip, 1 MB answer, chunked answer, 301,
#                 pipelining over a raw socket
#   wrk.pcap.gz   -i lo, gzip-compressed: wrk, 2 connections, 1 s
#   any.pcap      -i any (LINUX_SLL2), nanosecond timestamps
#   pace.pcap.gz  -i lo, gzip-compressed: 2,000 req/s for 3 s over 16 keep-alive
#                 connections (scripts/paced), what replay's pacing is measured on
#   snap.pcap     -i lo -s 96: every packet with data truncated by the snap length
#   other.pcap    -i lo: a TLS connection (curl to openssl s_server), an SSH
#                 banner exchange (ssh to a raw socket) and one HTTP request
# and NAME.access.log (pace: gzip-compressed), the legacy's access log lines for each.
set -euo pipefail

out=${1:-replay/testdata}
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/cutover" ./cmd/cutover
"$work/cutover" testbed up --ipv6 --log-level warn >"$work/bed.txt" 2>"$work/bed.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^candidate' "$work/bed.txt" 2>/dev/null && break; sleep 0.1; done
url=$(awk '$1=="legacy" && $2!="v6" {print $2}' "$work/bed.txt")
log=$(awk '$1=="legacy" && $2!="v6" {print $5}' "$work/bed.txt" | tr -d ')')
v6=$(awk '$1=="legacy" && $2=="v6" {print $3}' "$work/bed.txt")
port=${url##*:}
[ -n "$url" ] && [ -n "$log" ] || { cat "$work/bed.txt" "$work/bed.log" >&2; exit 1; }

# capture NAME TCPDUMP_ARGS... -- runs the traffic function NAME between
# starting and stopping tcpdump, then keeps the capture and the access log.
capture() {
  local name=$1 file=$2
  shift 2
  : >"$log"
  tcpdump -Z root -U --immediate-mode -B 65536 -q -s "${snaplen:-0}" "$@" -w "$work/$file" "${filter:-tcp port $port}" 2>"$work/tcpdump.log" &
  local tp=$!
  pids+=("$tp")
  for _ in $(seq 50); do grep -q 'listening on' "$work/tcpdump.log" && break; sleep 0.1; done
  sleep 1 # "listening" comes before -i any really captures
  "traffic_$name"
  sleep 0.5 # the last FINs
  kill -INT "$tp"
  wait "$tp" || true
  case $file in
  *.gz) gzip -9 -c "$work/$file" >"$out/${file}" ;;
  *) cp "$work/$file" "$out/$file" ;;
  esac
  case $file in
  pace.*) gzip -9 -c "$log" >"$out/$name.access.log.gz" ;;
  *) cp "$log" "$out/$name.access.log" ;;
  esac
  # A capture the kernel dropped packets from is no oracle test: say so.
  if ! grep -q '^0 packets dropped by kernel' "$work/tcpdump.log"; then
    cat "$work/tcpdump.log" >&2
    echo "$name: tcpdump lost packets; run again on a quieter machine" >&2
    exit 1
  fi
  echo "$name: $(wc -l <"$log") requests, $(du -h "$out/$file" | cut -f1)"
}

traffic_curl() {
  head -c 70000 /dev/urandom | base64 >"$work/upload.txt"
  curl -s -o /dev/null -o /dev/null -o /dev/null "$url/api/items/1" "$url/api/items/2?x=1" "$url/page"
  curl -s -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary @"$work/upload.txt" "$url/echo"
  curl -s -o /dev/null -H 'Expect: 100-continue' --data-binary @"$work/upload.txt" "$url/echo?continue=1"
  curl -s -o /dev/null -I "$url/page"
  curl -s -o /dev/null --http1.0 "$url/text"
  curl -s -o /dev/null -g "$v6/api/items/3"
  curl -s -o /dev/null --compressed "$url/api/items?page=1"
  curl -s -o /dev/null "$url/large"
  curl -s -o /dev/null "$url/stream?chunks=5&delay_ms=5"
  curl -s -o /dev/null "$url/old-page" "$url/binary" "$url/api/noisy" "$url/edge/health"
  curl -s -o /dev/null -X PUT --data '{"name":"x"}' -H 'Content-Type: application/json' "$url/echo?put=1"
  # Pipelining: three requests in one write on one connection.
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /api/items/4 HTTP/1.1\r\nHost: pipe\r\n\r\nHEAD /text HTTP/1.1\r\nHost: pipe\r\n\r\nGET /page?p=3 HTTP/1.1\r\nHost: pipe\r\nConnection: close\r\n\r\n' >&3
  cat <&3 >/dev/null
  exec 3<&-
}

traffic_wrk() {
  # A pause between requests keeps the capture small (a few hundred).
  echo 'function delay() return 4 end' >"$work/pace.lua"
  wrk -t1 -c2 -d1s -s "$work/pace.lua" "$url/api/items/7" >/dev/null
}

traffic_any() {
  curl -s -o /dev/null -o /dev/null "$url/api/items/5" "$url/text"
  curl -s -o /dev/null --data 'a=1' "$url/echo?any=1"
}

traffic_pace() {
  go run ./scripts/paced -url "$url" -rate 2000 -duration 3s -conns 16
}

traffic_snap() {
  curl -s -o /dev/null -o /dev/null "$url/api/items/1" "$url/text"
  curl -s -o /dev/null --data 'a=1' "$url/echo?snap=1"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tls_port=$(free_port)
ssh_port=$(free_port)

traffic_other() {
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  openssl s_server -quiet -www -accept "$tls_port" -cert "$work/cert.pem" -key "$work/key.pem" >/dev/null 2>&1 &
  local tls=$!
  pids+=("$tls")
  # An SSH server's side of the banner exchange: it speaks first.
  python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
c, _ = s.accept(); c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"); c.recv(4096); c.close()
' "$ssh_port" &
  local sshd=$!
  pids+=("$sshd")
  for _ in $(seq 50); do curl -sk -o /dev/null "https://127.0.0.1:$tls_port/" && break; sleep 0.1; done
  ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=2 \
    -p "$ssh_port" probe@127.0.0.1 true >/dev/null 2>&1 || true
  curl -s -o /dev/null "$url/api/items/9"
  kill "$tls" 2>/dev/null || true
}

for c in ${CAPTURES:-curl wrk any pace snap other}; do
  case $c in
  curl) capture curl curl.pcap -i lo ;;
  wrk) capture wrk wrk.pcap.gz -i lo ;;
  any) capture any any.pcap -i any --time-stamp-precision=nano ;;
  pace) capture pace pace.pcap.gz -i lo ;;
  snap) snaplen=96 capture snap snap.pcap -i lo ;;
  other) filter="tcp port $port or tcp port $tls_port or tcp port $ssh_port" capture other other.pcap -i lo ;;
  esac
done
