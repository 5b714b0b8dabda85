package rollout

import (
	"math/rand/v2"
	"testing"
)

// simulate runs one rollout of the error-rate gate against simulated
// traffic: each interval serves perInterval requests split by the step's
// weight, with the given error rates; the failure policy of p applies. It
// returns whether the rollout was rolled back and how many candidate
// requests had been served at the step where it happened when the
// regression starts at regressAt (or -1 for none).
func simulate(p *Plan, seed uint64, perInterval int, legacyRate, candidateRate, regressedRate float64, regressAt int) (rolledBack bool, candidateAtFire int64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	for si, step := range p.Steps {
		var m Measure
		failures := 0
		for look := 1; ; look++ {
			for range perInterval {
				rateC := candidateRate
				if regressAt >= 0 && si >= regressAt {
					rateC = regressedRate
				}
				if rng.Float64()*100 < step.Weight {
					m.Candidate.Requests++
					if rng.Float64() < rateC {
						m.Candidate.Errors++
					}
				} else {
					m.Legacy.Requests++
					if rng.Float64() < legacyRate {
						m.Legacy.Errors++
					}
				}
			}
			if step.Weight == 100 {
				// legacy only answers shadow copies at 100
				m.Counts.Compared = m.Candidate.Requests
				m.Counts.Failed.Legacy = int64(float64(m.Candidate.Requests) * legacyRate)
			}
			res := judge(p, step, m, look)[0]
			if res.Verdict == GateFail {
				failures++
				if failures >= p.Failure.Consecutive {
					return true, m.Candidate.Requests
				}
				continue
			}
			failures = 0
			if res.Verdict == GatePass && look*perInterval >= int(step.MinRequests)*2 {
				break
			}
			if look > 400 {
				break // a step that never passes holds; the simulation moves on
			}
		}
	}
	return false, 0
}

func simPlan(t *testing.T) *Plan {
	t.Helper()
	p, err := ParsePlan([]byte(`
name: sim
steps: [1, 5, 25, 50, 100]
min_requests: 2000
interval: 1s
gates:
  latency: {disabled: true}
  differences: {disabled: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A/A: identical sides checked every interval are rolled back no more
// often than the plan's false-alarm level.
func TestAAFalseRollbacksWithinLevel(t *testing.T) {
	t.Parallel()
	p := simPlan(t)
	const runs = 100
	rolledBack := 0
	for seed := range uint64(runs) {
		if rb, _ := simulate(p, seed, 2000, 0.001, 0.001, 0.001, -1); rb {
			rolledBack++
		}
	}
	if limit := int(p.FalseAlarm * runs); rolledBack > limit {
		t.Errorf("%d of %d A/A rollouts rolled back, want at most %d (level %g)", rolledBack, runs, limit, p.FalseAlarm)
	}
	t.Logf("A/A: %d of %d rolled back (level %g)", rolledBack, runs, p.FalseAlarm)
}

// A regression from 0.1% to 1% errors at the 25% step is caught within
// 3,000 candidate requests at that step, in every seeded run.
func TestRegressionCaughtWithinBoundedRequests(t *testing.T) {
	t.Parallel()
	p := simPlan(t)
	const bound = 3000
	worst := int64(0)
	for seed := range uint64(100) {
		rb, at := simulate(p, seed, 1000, 0.001, 0.001, 0.01, 2)
		if !rb {
			t.Fatalf("seed %d: regression 0.1%% → 1%% never rolled back", seed)
		}
		worst = max(worst, at)
	}
	if worst > bound {
		t.Errorf("worst case: fired after %d candidate requests at the step, want at most %d", worst, bound)
	}
	t.Logf("regression 0.1%% → 1%% at 25%%: fired after at most %d candidate requests at the step", worst)
}
