package rollout

import (
	"strings"
	"time"
)

// scaled is an e2e latency (an injected one, a margin) at the build's scale.
func scaled(d time.Duration) time.Duration { return raceScale * d }

// scaledPlan rewrites an e2e plan's latency margins at the build's scale.
func scaledPlan(plan string) string {
	if raceScale == 1 {
		return plan
	}
	r := strings.NewReplacer(
		"max_shift: 15ms", "max_shift: "+scaled(15*time.Millisecond).String(),
		"max_shift: 50ms", "max_shift: "+scaled(50*time.Millisecond).String(),
	)
	return r.Replace(plan)
}

// slack is added to e2e time bounds under the race detector, whose mirror
// and candidate stall for hundreds of milliseconds on a busy machine (a
// +40 ms onset was once rolled back 60 ms past a 1 s slack: two seconds
// leave room for the stalls, and still fail a detector a step late). The
// race-free bounds are the (scripts/rollout-acceptance.sh).
func slack() time.Duration {
	if raceScale > 1 {
		return 2 * time.Second
	}
	return 0
}
