package rollout

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/diff"
)

// Latency gates are not applicable when every source says its latency is
// not comparable (a tap without a secondary); a source that measured alike
// beside it is still judged; before any verdict the gates wait.
func TestLatencyNotApplicable(t *testing.T) {
	t.Parallel()
	p := testPlan(t, "")
	notComparable := diff.LatencyVerdict{Status: diff.LatencyNotComparable, Reason: "not judged"}
	short := diff.LatencyVerdict{Status: diff.LatencyInconclusive, Samples: 3, MinSamples: 20}
	base := Measure{Legacy: Served{Requests: 1000}, Candidate: Served{Requests: 100},
		Counts: diff.Counts{Requests: 100, Compared: 100}, Endpoints: map[string]EndpointCounts{"GET /": {Compared: 100}}}
	latencyGates := []string{GateLatency, GateLatencyTail}
	tests := []struct {
		name    string
		latency []diff.LatencyVerdict
		want    map[string]string
	}{
		{"a tap alone", []diff.LatencyVerdict{notComparable},
			map[string]string{GateLatency: GateNotApplicable, GateLatencyTail: GateNotApplicable}},
		{"two taps", []diff.LatencyVerdict{notComparable, notComparable},
			map[string]string{GateLatency: GateNotApplicable, GateLatencyTail: GateNotApplicable}},
		{"a tap beside a mirror short of samples", []diff.LatencyVerdict{notComparable, short},
			map[string]string{GateLatency: GateInsufficient, GateLatencyTail: GateInsufficient}},
		{"no verdict yet", nil,
			map[string]string{GateLatency: GateInsufficient, GateLatencyTail: GateInsufficient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := base
			m.Latency = tt.latency
			got := map[string]string{}
			for _, g := range judge(p, p.Steps[0], evidence{Step: m, Look: 3}) {
				for _, name := range latencyGates {
					if g.Gate == name {
						got[name] = g.Verdict
					}
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("latency gates (-want +got):\n%s", d)
			}
		})
	}
	for _, tt := range []struct {
		verdict string
		want    bool
	}{{GatePass, true}, {GateNotApplicable, true}, {GateInsufficient, false}, {GateFail, false}} {
		if got := decides(tt.verdict); got != tt.want {
			t.Errorf("decides(%s) = %v, want %v", tt.verdict, got, tt.want)
		}
	}
}
