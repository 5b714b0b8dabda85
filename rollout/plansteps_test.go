package rollout

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStepGatesOverrideThePlans(t *testing.T) {
	t.Parallel()
	p, err := ParsePlan([]byte(`
name: g
steps: [10, {weight: 50, gates: {latency: {max_p99: 250ms, tail: {quantile: 0.95}}, error_rate: {max: 0.5%}}, max_duration: 1h, on_timeout: rollback}, 100]
hold: 10m
gates:
  latency: {max_shift: 5ms}
  differences: {dry_run: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	first, second := p.Steps[0], p.Steps[1]
	tests := []struct {
		name      string
		got, want any
	}{
		{"plan's gates on step 1", first.Gates.Latency, LatencyGate{MaxShift: 5 * time.Millisecond, Tail: TailGate{Quantile: 0.99}}},
		{"step 2 laid over the plan", second.Gates.Latency, LatencyGate{MaxShift: 5 * time.Millisecond, MaxP99: 250 * time.Millisecond, Tail: TailGate{Quantile: 0.95}}},
		{"0.5% is a share", float64(second.Gates.ErrorRate.Max), 0.005},
		{"dry run inherited", second.Gates.Differences.DryRun, true},
		{"deadline default", first.MaxDuration, 30*time.Minute + 20*30*time.Second},
		{"deadline given", [2]any{second.MaxDuration, second.OnTimeout}, [2]any{time.Hour, OnTimeoutRollback}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	names, deciding := enabledGates(second.Gates)
	if want := []string{GateErrorRate, GateErrorCeiling, GateLatency, GateLatencyTail, GateLatencyCeiling, GateDifferences}; !cmp.Equal(want, names) || deciding != 5 {
		t.Errorf("gates of step 2: %v (%d deciding), want %v (5 deciding)", names, deciding, want)
	}
}

func TestStepPlanErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ yaml, want string }{
		{"name: x\nsteps: [{weight: 100, max_duration: 1m}]\nhold: 5m\n", "max_duration 1m0s must be at least the hold"},
		{"name: x\nsteps: [100]\non_timeout: wait\n", "on_timeout must be pause or rollback"},
		{"name: x\nsteps: [100]\ngates: {error_rate: {max: lots}}\n", "is not a share"},
		{"name: x\nsteps: [{weight: 100, gates: {latency: {tail: {quantile: 1.5}}}}]\n", "quantile must be in [0.5, 1)"},
		{"name: x\nsteps: [{weight: 100, gates: {latency: {taill: {}}}}]\n", `unknown key "taill"`},
	} {
		if _, err := ParsePlan([]byte(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error containing %q", tt.yaml, err, tt.want)
		}
	}
}

// Plans are compared parsed: a comment, another layout or a default
// written out is the same plan; a changed step is named.
func TestPlanChangesAreParsed(t *testing.T) {
	t.Parallel()
	base := "name: x\nsteps: [10, 50, 100]\nhold: 1m\n"
	parse := func(s string) *Plan {
		p, err := ParsePlan([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct{ yaml, want string }{
		{"# a comment\n" + base, ""},
		{"name: x\nsteps:\n  - 10\n  - {weight: 50}\n  - 100\nhold: 60s\ninterval: 30s\n", ""},
		{strings.Replace(base, "50", "40", 1), "step 2 changed"},
		{base + "gates: {latency: {max_shift: 9ms}}\n", "step 1 changed; step 2 changed; step 3 changed; gates changed"},
		{base + "interval: 10s\n", "step 1 changed; step 2 changed; step 3 changed; settings changed"}, // the interval is in the steps' default deadline
	} {
		if got := strings.Join(planChanges(parse(base), parse(tt.yaml)), "; "); got != tt.want {
			t.Errorf("%q: changes %q, want %q", tt.yaml, got, tt.want)
		}
	}
}

// A dry-run gate that fails is shown failed and decides nothing.
func TestDryRunGateDecidesNothing(t *testing.T) {
	t.Parallel()
	p := simPlan(t, "name: d\nsteps: [50, 100]\nmin_requests: 10\ngates: {error_rate: {dry_run: true}, latency: {disabled: true}, differences: {disabled: true}}\n")
	m := Measure{Legacy: Served{Requests: 1000}, Candidate: Served{Requests: 1000, Errors: 200}}
	got := judge(p, p.Steps[0], evidence{Step: m, Look: 1})
	if len(got) != 1 || got[0].Verdict != GateFail || !got[0].DryRun {
		t.Fatalf("gates %+v, want the error gate failed as a dry run", got)
	}
	_, deciding := enabledGates(p.Steps[0].Gates)
	if deciding != 0 {
		t.Errorf("%d deciding gates, want 0", deciding)
	}
}
