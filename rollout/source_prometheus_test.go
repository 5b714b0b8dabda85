package rollout

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/testbed"
)

// On two mirrors, one Prometheus scraping both reaches the verdicts that
// polling their admin APIs reaches, gate by gate.
func TestPrometheusSourceAgreesWithPolling(t *testing.T) {
	f := startPromFleetShadowed(t)
	fleet, err := NewFleet(f.admins, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.SetWeight(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	prom := &PrometheusSource{URL: f.prom.URL}
	// The race-instrumented candidate runs slower than NGINX on a busy
	// machine: the tolerance keeps a faithful one clearly inside, +40ms
	// clearly out. The tail gate is left out: histograms rebuild a p99 only
	// to a bucket's width, and a thin step's p99 bound sits near any
	// tolerance.
	plan, err := ParsePlan([]byte("name: e2e\nsteps: [50, 100]\nmin_requests: 30\ngates:\n  differences: {min_compared: 30}\n  latency: {max_shift: 25ms, tail: {disabled: true}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; prom.Check(ctx) != nil; i++ {
		if i == 100 {
			t.Fatalf("prometheus never scraped the mirrors: %v", prom.Check(ctx))
		}
		time.Sleep(100 * time.Millisecond)
	}
	tests := []struct {
		name     string
		switches testbed.Switches
		want     map[string]string // gates whose verdict the case is about
	}{
		{"faithful", testbed.Switches{}, map[string]string{"error_rate": GatePass, "differences": GatePass}},
		{"5% of 503s", testbed.Switches{ErrorRate: 0.05, ErrorStatus: 503}, map[string]string{"error_rate": GateFail}},
		{"a field differs", testbed.Switches{ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`0`)}}, map[string]string{"differences": GateFail}},
		{"+40ms", testbed.Switches{Latency: testbed.Latency{Fixed: testbed.Duration(40 * time.Millisecond)}}, map[string]string{"latency": GateFail}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.bed.Candidate.SetSwitches(tt.switches)
			defer f.bed.Candidate.SetSwitches(testbed.Switches{})
			time.Sleep(time.Second) // answers in flight at the switch
			id := "w" + string(rune('a'+i))
			fleet.Measure(ctx, id)
			prom.Measure(ctx, id)
			time.Sleep(6 * time.Second)
			verdicts := func(src interface {
				Measure(context.Context, string) (Measure, error)
			}) (map[string]string, []GateResult) {
				m, err := src.Measure(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				gates := judge(plan, plan.Steps[0], evidence{Step: m, StepPairs: m.Pairs, Look: 1})
				out := map[string]string{}
				for _, g := range gates {
					out[g.Gate] = g.Verdict
				}
				return out, gates
			}
			polled, pg := verdicts(fleet)
			summed, sg := verdicts(prom)
			for gate, v := range tt.want {
				if polled[gate] != v {
					t.Fatalf("polling the mirrors: %s %s, want %s (the case does not show what it means to): %+v", gate, polled[gate], v, pg)
				}
			}
			if d := cmp.Diff(polled, summed); d != "" {
				t.Errorf("verdicts (-polled +prometheus):\n%s\npolled %+v\nprometheus %+v", d, pg, sg)
			}
			for _, g := range sg {
				t.Logf("prometheus: %s %s: %s", g.Gate, g.Verdict, g.Reason)
			}
		})
	}
}
