#!/usr/bin/env bash
# Installs the Debian packages the test bed and tests need, when they are missing.
# Runs as root only (that is how CI and a fresh machine of this kind run); as another
# user it prints what is missing and leaves the decision to the tests.
set -euo pipefail

# Each entry: a command or file that proves the package is there, then the package.
need=(
  "/usr/sbin/nginx:nginx-light"
  "/usr/lib/nginx/modules/ngx_http_lua_module.so:libnginx-mod-http-lua"
  "tcpdump:tcpdump"
  "wrk:wrk"
  "curl:curl"
  "chromium:chromium"
  "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf:fonts-liberation"
  # Front doors and signals (HAProxy weights, Prometheus gates) and the
  # reference reader of captures (tshark, also for decrypted TLS and HTTP/2).
  "/usr/sbin/haproxy:haproxy"
  "/usr/bin/prometheus:prometheus"
  "tshark:tshark"
  "openssl:openssl"
)
if [ -n "${CUTOVER_DEPS_EXTRA:-}" ]; then
  read -r -a extra <<<"$CUTOVER_DEPS_EXTRA"
  need+=("${extra[@]}")
fi

missing=()
for entry in "${need[@]}"; do
  probe=${entry%%:*}
  pkg=${entry#*:}
  if [[ $probe == /* ]]; then
    [ -e "$probe" ] || missing+=("$pkg")
  else
    command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing ${missing[*]}; run 'make test' as root to install them" >&2
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' own init scripts from starting a system nginx on port 80:
# the test bed starts its own instances on free loopback ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
