package rollout

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParsePlan(t *testing.T) {
	t.Parallel()
	got, err := ParsePlan([]byte(`
name: edge
steps: [1, {weight: 25, hold: 10m, pause_before: true}, 100]
hold: 2m
interval: 10s
gates:
  latency: {max_shift: 5ms}
failure: {rollback: steps}
webhooks: [http://hooks.example/cutover]
`))
	if err != nil {
		t.Fatal(err)
	}
	gates := Gates{
		ErrorRate:   ErrorRateGate{MaxRatio: 1.2},
		Latency:     LatencyGate{MaxShift: 5 * time.Millisecond, Tail: TailGate{Quantile: 0.99}},
		Differences: DifferencesGate{MaxRate: 0.01, MaxEndpointRate: 0.05, MinCompared: 100},
	}
	want := &Plan{
		Name: "edge", Hold: 2 * time.Minute, MinRequests: 1000, Interval: 10 * time.Second, FalseAlarm: 0.05,
		OnTimeout: OnTimeoutPause, RecentIntervals: 2,
		Steps: []Step{
			{Weight: 1, Hold: 2 * time.Minute, MinRequests: 1000, MaxDuration: 6*time.Minute + 200*time.Second, OnTimeout: "pause", Gates: gates},
			{Weight: 25, Hold: 10 * time.Minute, MinRequests: 1000, PauseBefore: true, MaxDuration: 30*time.Minute + 200*time.Second, OnTimeout: "pause", Gates: gates},
			{Weight: 100, Hold: 2 * time.Minute, MinRequests: 1000, MaxDuration: 6*time.Minute + 200*time.Second, OnTimeout: "pause", Gates: gates},
		},
		Gates:    gates,
		Failure:  Failure{Consecutive: 2, Rollback: "steps"},
		Webhooks: []string{"http://hooks.example/cutover"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Step{})); diff != "" {
		t.Errorf("ParsePlan (-want +got):\n%s", diff)
	}
	var b bytes.Buffer
	if err := got.Schedule(&b); err != nil || !strings.Contains(b.String(), "10m0s") || !strings.Contains(b.String(), "pause before") || !strings.Contains(b.String(), "roll back step by step") {
		t.Errorf("schedule:\n%s", b.String())
	}
}

func TestParsePlanErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"empty", "", "plan: empty"},
		{"not yaml", "name: [", "plan: "},
		{"no name", "steps: [100]", "plan: a name is required"},
		{"no steps", "name: x", "plan: at least one step"},
		{"unknown key", "name: x\nsteps: [100]\nstep: 3", `plan line 3: unknown key "step"`},
		{"unknown nested key", "name: x\nsteps: [100]\ngates:\n  error_rate: {max_ration: 2}", `plan line 4: unknown key "max_ration"`},
		{"unknown step key", "name: x\nsteps:\n  - {weight: 100, hodl: 1m}", `plan line 3: unknown key "hodl"`},
		{"falling weights", "name: x\nsteps:\n  - 50\n  - 10\n  - 100", "plan line 4: step weights must rise"},
		{"last not 100", "name: x\nsteps: [5, 50]", "the last step must be 100"},
		{"weight over 100", "name: x\nsteps: [5, 150]", "step weight 150"},
		{"bad duration", "name: x\nsteps: [100]\nhold: soon", "plan line 3: hold: cannot read `soon` as a duration"},
		{"tiny interval", "name: x\nsteps: [100]\ninterval: 1ms", "plan line 3: interval must be at least 100ms"},
		{"bad false alarm", "name: x\nsteps: [100]\nfalse_alarm: 0.9", "plan line 3: false_alarm"},
		{"bad rollback", "name: x\nsteps: [100]\nfailure: {rollback: slowly}", "plan line 3: failure"},
		{"bad webhook", "name: x\nsteps: [100]\nwebhooks: [ftp://x]", `plan line 3: webhook "ftp://x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePlan([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParsePlan(%q) = %v, want an error containing %q", tt.yaml, err, tt.want)
			}
		})
	}
}

// FuzzParsePlan: any input gives a plan that validates, or an error; never
// a panic.
func FuzzParsePlan(f *testing.F) {
	f.Add([]byte("name: x\nsteps: [1, 5, 25, 50, 100]\n"))
	f.Add([]byte("name: x\nsteps:\n  - {weight: 25, hold: 10m, pause_before: true}\n  - 100\nfailure: {rollback: steps}\n"))
	f.Add([]byte("name: x\nsteps: [100]\ngates:\n  latency: {max_shift: 5ms}\n"))
	f.Add([]byte("name: x\nsteps: [{weight: 50, gates: {error_rate: {max: 0.5%}, latency: {max_p99: 250ms, tail: {quantile: 0.95}}}, max_duration: 1h, on_timeout: rollback}, 100]\nquorum: 2\nrecent_intervals: 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePlan(data)
		if err != nil {
			return
		}
		if len(p.Steps) == 0 || p.Steps[len(p.Steps)-1].Weight != 100 || p.Interval <= 0 || p.FalseAlarm <= 0 {
			t.Errorf("accepted an invalid plan: %+v", p)
		}
		for _, s := range p.Steps {
			if s.MaxDuration < s.Hold+p.Interval || s.Gates.Latency.Tail.Quantile < 0.5 || s.Gates.Latency.Tail.Quantile >= 1 {
				t.Errorf("accepted an invalid step: %+v", s)
			}
		}
	})
}
