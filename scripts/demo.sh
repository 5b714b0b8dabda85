#!/usr/bin/env bash
# make demo: start the test bed and show it working. The mirror issue wires
# the full demo (cutover mirror in front of the bed, a mixed load, a summary).
set -euo pipefail
bin=${1:-bin/cutover}
exec "$bin" testbed up --secondary
