#!/bin/sh
# The rounds of issue 12's acceptance, once (the default tests run one round
# each): the slow-legacy hang 10 times, each late onset 5 times, 1,000
# simulated A/A rollouts and 100 simulated late regressions of each kind
# through the real gate code, and 10 real healthy rollouts (A/A: both sides
# the NGINX/Lua edge, wrk through the mirror).
# Usage: scripts/rollout-acceptance.sh   (needs NGINX with the Lua module)
set -eu
uptime
cd "$(dirname "$0")/.."
filter='^(--- |ok|FAIL|    [a-z_]+_test.go:[0-9]+: (round|promoted|rolled back|A/A|\+40ms|5% |2% of))'
CUTOVER_LONG=1 go test -count=1 -p 1 -timeout 60m -v \
	-run 'TestSlowLegacyIsPromotedNotHung|TestLateOnsetRolledBackWithinTwoIntervals|TestAAFalseRollbacksWithinLevel|TestLateRegressionCaughtWithinTwoIntervals|TestAARealRolloutsPromoted' \
	./rollout/ | grep -E "$filter"
