package rollout

import (
	"strings"
	"testing"
)

func TestPrometheusGatesInPlans(t *testing.T) {
	t.Parallel()
	base := "name: p\nsteps: [50, 100]\ngates:\n  prometheus:\n"
	tests := []struct {
		name, entries, want string
	}{
		{"good", "    - {name: p5xx, query: 'sum(rate(x[$window]))', max: 0.01, dry_run: true, url: 'http://prom:9090'}\n    - {name: hits, query: 'up', min: 1}\n", ""},
		{"unknown key", "    - {name: a, query: up, max: 1, maximum: 2}\n", `plan line 5: unknown key "maximum"`},
		{"no name", "    - {query: up, max: 1}\n", "plan line 5: a prometheus gate needs a name"},
		{"builtin name", "    - {name: latency, query: up, max: 1}\n", `gate name "latency" is taken`},
		{"twice", "    - {name: a, query: up, max: 1}\n    - {name: a, query: up, max: 1}\n", `plan line 6: gate name "a" is taken`},
		{"no query", "    - {name: a, max: 1}\n", `gate "a" needs a query`},
		{"no bound", "    - {name: a, query: up}\n", "needs one of max or min"},
		{"bad url", "    - {name: a, query: up, max: 1, url: 'prom:9090'}\n", "is not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePlan([]byte(base + tt.entries))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Gates.Prometheus) != 2 || !p.Gates.Prometheus[0].DryRun || *p.Gates.Prometheus[0].Max != 0.01 || *p.Gates.Prometheus[1].Min != 1 {
					t.Errorf("parsed %+v", p.Gates.Prometheus)
				}
				var b strings.Builder
				p.Schedule(&b)
				if !strings.Contains(b.String(), "p5xx") || !strings.Contains(b.String(), "dry run") {
					t.Errorf("the schedule does not show the prometheus gates:\n%s", b.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}
