#!/usr/bin/env bash
# make demo: cutover mirror in front of the local NGINX/Lua test bed, a
# mixed load for a minute, a candidate regression switched on half way, and
# the summary. The verdict fails on purpose (exit 1): that is the product
# catching the regression, so it is not an error of the demo.
set -uo pipefail
bin=${1:-bin/cutover}
out=${CUTOVER_DEMO_DIR:-cutover-demo}
mkdir -p "$out"
"$bin" demo --json "$out/summary.json" --report "$out/report.html" "${@:2}"
rc=$?
if [ $rc -eq 1 ]; then
  echo
  echo "demo: the verdict failed, as it should: the candidate was made to regress half way."
  exit 0
fi
exit $rc
