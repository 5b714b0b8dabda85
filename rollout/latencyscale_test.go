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
