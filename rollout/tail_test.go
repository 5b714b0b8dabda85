package rollout

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestJudgeTail(t *testing.T) {
	t.Parallel()
	draw := func(n int, seed uint64, slowShare float64, slow float64) LatencyPairs {
		rng := rand.New(rand.NewPCG(seed, 3))
		var p LatencyPairs
		for range n {
			l, c := 4+rng.Float64(), 4+rng.Float64()
			if rng.Float64() < slowShare {
				c += slow
			}
			p.Legacy, p.Candidate = append(p.Legacy, l), append(p.Candidate, c)
		}
		return p
	}
	cfg := LatencyGate{Tail: TailGate{Quantile: 0.99}, MaxShift: 5 * time.Millisecond}
	tests := []struct {
		name    string
		pairs   LatencyPairs
		verdict string
		reason  string
	}{
		{"alike", draw(5000, 1, 0, 0), GatePass, "p99 candidate"},
		{"2% +200ms", draw(5000, 2, 0.02, 200), GateFail, "the p99 is later"},
		{"a thin sample is judged lower", draw(400, 3, 0, 0), GatePass, "judged at the p9"},
		{"too thin even for p90", draw(60, 4, 0, 0), GateInsufficient, "cannot bound even the p90"},
		{"too few", draw(10, 5, 0, 0), GateInsufficient, "fewer than 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := judgeTail(cfg, tt.pairs, 1e-4)
			if got.Verdict != tt.verdict || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("%s: %s, want %s containing %q", got.Verdict, got.Reason, tt.verdict, tt.reason)
			}
		})
	}
}

// The order-statistic bounds hold their level: over many samples the true
// quantile falls outside the one-sided bound at most about a of the time.
func TestQuantileBoundsCover(t *testing.T) {
	t.Parallel()
	const trials, n, q, a = 2000, 500, 0.95, 0.05
	rng := rand.New(rand.NewPCG(9, 9))
	missLo, missHi := 0, 0
	for range trials {
		s := make([]float64, n)
		for i := range s {
			s[i] = rng.Float64() // uniform: the true q-quantile is q
		}
		slices.Sort(s)
		if lo, ok := lowerBound(s, q, a); ok && lo > q {
			missLo++
		}
		if hi, ok := upperBound(s, q, a); ok && hi < q {
			missHi++
		}
	}
	if limit := int(1.5 * a * trials); missLo > limit || missHi > limit {
		t.Errorf("the bounds missed the true quantile %d (lower) and %d (upper) times in %d, want at most about %d", missLo, missHi, trials, int(a*trials))
	}
}
