package rollout

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
)

// traffic describes simulated traffic for a rollout: perInterval requests
// per interval, every one shadowed, split by the step's weight. From
// onset (in intervals since the start of step regressStep) the candidate
// answers with regressedErr errors and slower by the regression function.
type traffic struct {
	perInterval        int
	legacyErr, candErr float64
	regressStep        int
	onset              float64 // < 0: no regression
	regressedErr       float64
	regression         func(rng *rand.Rand) float64 // ms added
}

// outcome of one simulated rollout.
type outcome struct {
	rolledBack, stuck bool
	step              int
	at                float64 // intervals since the step began, when it ended
	gates             []GateResult
}

// simulate runs a rollout of plan p through the real gate code (judge,
// stepEvidence) against simulated traffic, with the controller's cadence
// and failure policy: a look every interval, a failed one confirmed a
// quarter interval later, consecutive failures roll back, every gate
// passing after the hold advances, the deadline stops the step (stuck).
func simulate(p *Plan, seed uint64, tr traffic) outcome {
	rng := rand.New(rand.NewPCG(seed, 42))
	latency := func() float64 { return 4 * math.Exp(0.3*rng.NormFloat64()) } // ms, about 4 ms
	for si, step := range p.Steps {
		var m Measure
		var ev stepEvidence
		ev.open("w", time.Time{})
		mirrorSample := newPairSample(2000)
		failures := 0
		hold, deadline := float64(step.Hold)/float64(p.Interval), float64(step.MaxDuration)/float64(p.Interval)
		now := 0.0 // intervals since the step began
		for look := 1; ; look++ {
			dt := 1.0
			if failures > 0 {
				dt = 1.0 / confirmFraction
			}
			from := now
			now += dt
			m.Pairs = LatencyPairs{}
			for range int(float64(tr.perInterval) * dt) {
				at := from + dt*rng.Float64()
				bad := tr.onset >= 0 && si == tr.regressStep && at >= tr.onset
				cErr := tr.candErr
				if bad {
					cErr = tr.regressedErr
				}
				legFails, candFails := rng.Float64() < tr.legacyErr, rng.Float64() < cErr
				if rng.Float64()*100 < step.Weight {
					m.Candidate.Requests++
					if candFails {
						m.Candidate.Errors++
					}
				} else {
					m.Legacy.Requests++
					if legFails {
						m.Legacy.Errors++
					}
				}
				m.Counts.Requests++
				switch {
				case legFails && candFails:
					m.Counts.Failed.Both++
				case legFails:
					m.Counts.Failed.Legacy++
				case candFails:
					m.Counts.Failed.Candidate++
				default:
					m.Counts.Compared++
					l, c := latency(), latency()
					if bad && tr.regression != nil {
						c += tr.regression(rng)
					}
					m.Pairs.Legacy = append(m.Pairs.Legacy, l)
					m.Pairs.Candidate = append(m.Pairs.Candidate, c)
				}
			}
			mirrorSample.add(m.Pairs)
			m.Latency = []diff.LatencyVerdict{diff.JudgeLatency(mirrorSample.pairs.Legacy, mirrorSample.pairs.Candidate, diff.LatencyConfig{})}
			e := ev.add("w", time.Time{}.Add(time.Duration(now*float64(p.Interval))), m, p.RecentIntervals, look)
			gates := judge(p, step, e)
			failed, allPass := false, true
			for _, g := range gates {
				failed = failed || (g.Verdict == GateFail && !g.DryRun)
				allPass = allPass && (g.Verdict == GatePass || g.DryRun)
			}
			if failed {
				if failures++; failures >= p.Failure.Consecutive {
					return outcome{rolledBack: true, step: si, at: now, gates: gates}
				}
				continue
			}
			failures = 0
			if allPass && now >= hold-1e-9 {
				break
			}
			if now >= deadline-1e-9 {
				return outcome{stuck: true, step: si, at: now, gates: gates}
			}
		}
	}
	return outcome{}
}

func simPlan(t *testing.T, yaml string) *Plan {
	t.Helper()
	p, err := ParsePlan([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runs is how many simulated rollouts a test makes: more with
// CUTOVER_LONG=1 (the figures in BENCHMARKS.md).
func runs(short, long int) int {
	switch {
	case os.Getenv("CUTOVER_LONG") != "":
		return long
	case raceBuild:
		return max(short/4, 2)
	}
	return short
}

const aaPlan = `
name: sim
steps: [5, 25, 50, 100]
hold: 10s
min_requests: 200
interval: 1s
`

// A/A: identical sides, every gate on (error rate, median, tail,
// differences), the recent window judged every interval beside the
// step's: healthy rollouts are rolled back no more often than the plan's
// false-alarm level, and none is stuck at a deadline.
func TestAAFalseRollbacksWithinLevel(t *testing.T) {
	t.Parallel()
	p := simPlan(t, aaPlan)
	n := runs(12, 1000)
	rolledBack, stuck := 0, 0
	for seed := range uint64(n) {
		o := simulate(p, seed, traffic{perInterval: 300, legacyErr: 0.002, candErr: 0.002, onset: -1})
		if o.rolledBack {
			rolledBack++
			t.Logf("seed %d rolled back at step %d: %+v", seed, o.step+1, o.gates)
		}
		if o.stuck {
			stuck++
			t.Logf("seed %d stuck at step %d: %+v", seed, o.step+1, o.gates)
		}
	}
	if limit := int(p.FalseAlarm * float64(n)); rolledBack > max(limit, 1) {
		t.Errorf("%d of %d A/A rollouts rolled back, want at most %d (level %g)", rolledBack, n, limit, p.FalseAlarm)
	}
	if stuck > 0 {
		t.Errorf("%d of %d A/A rollouts stuck at a deadline", stuck, n)
	}
	t.Logf("A/A: %d of %d rolled back (level %g), %d stuck", rolledBack, n, p.FalseAlarm, stuck)
}

const latePlan = `
name: sim
steps: [{weight: 50, hold: 30s}, 100]
hold: 5s
min_requests: 200
interval: 1s
`

// A regression switched on late in a long step (10 s into a 30 s hold, at
// a random moment of its interval) is rolled back within 2 intervals of
// the first interval that holds only post-onset evidence, for latency
// (+40 ms), errors (5% 503s) and the tail alone (2% of answers +200 ms).
func TestLateRegressionCaughtWithinTwoIntervals(t *testing.T) {
	t.Parallel()
	p := simPlan(t, latePlan)
	// need is how many intervals of post-onset evidence the test needs at
	// this traffic (1,000 requests an interval, 500 to the candidate).
	tests := []struct {
		name string
		tr   traffic
		gate string
		need float64
	}{
		{"+40ms", traffic{regression: func(*rand.Rand) float64 { return 40 }}, GateLatency, 1},
		{"5% errors", traffic{regressedErr: 0.05}, GateErrorRate, 1},
		{"2% of answers +200ms", traffic{regression: func(r *rand.Rand) float64 {
			if r.Float64() < 0.02 {
				return 200
			}
			return 0
		}}, GateLatencyTail, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			worst := 0.0
			for seed := range uint64(runs(3, 100)) {
				tr := tt.tr
				tr.perInterval, tr.legacyErr, tr.candErr, tr.regressStep = 1000, 0.001, 0.001, 0
				tr.onset = 10 + rand.New(rand.NewPCG(seed, 1)).Float64()
				if tr.regressedErr == 0 {
					tr.regressedErr = tr.candErr
				}
				o := simulate(p, seed, tr)
				if !o.rolledBack || o.step != 0 {
					t.Fatalf("seed %d: not rolled back at the step of the onset: %+v", seed, o)
				}
				failedGate := false
				for _, g := range o.gates {
					// +40 ms moves the p99 too: either latency gate may see it first.
					failedGate = failedGate || (g.Verdict == GateFail && (g.Gate == tt.gate || tt.gate == GateLatency && g.Gate == GateLatencyTail))
				}
				if !failedGate {
					t.Errorf("seed %d: the %s gate did not fail: %+v", seed, tt.gate, o.gates)
				}
				// The evidence suffices need intervals after the first
				// look after the onset; two intervals later at the latest.
				if limit := math.Ceil(tr.onset) + tt.need + 2; o.at > limit {
					t.Errorf("seed %d: onset %.2f, rolled back at %.2f, want by %.0f", seed, tr.onset, o.at, limit)
				}
				worst = max(worst, o.at-tr.onset)
			}
			t.Logf("%s: rolled back at most %.2f intervals after the onset", tt.name, worst)
		})
	}
}
