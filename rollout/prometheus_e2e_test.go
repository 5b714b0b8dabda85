package rollout

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/fleettest"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/mirror"
)

// promFleet is two mirrors in front of one bed, with load through both,
// scraped by a real Prometheus every second.
type promFleet struct {
	bed    *testbed.Bed
	admins []string
	mirror []*fleettest.Mirror
	prom   *testbed.Prometheus
}

func startPromFleet(t *testing.T, sample float64) *promFleet {
	t.Helper()
	return startPromFleetOn(t, testbed.StartForTest(t, testbed.Config{}), sample)
}

// startPromFleetShadowed compares every request, with a secondary legacy
// for noise.
func startPromFleetShadowed(t *testing.T) *promFleet {
	t.Helper()
	return startPromFleetOn(t, testbed.StartForTest(t, testbed.Config{Secondary: true}), 100)
}

func startPromFleetOn(t *testing.T, bed *testbed.Bed, sample float64) *promFleet {
	t.Helper()
	f := &promFleet{bed: bed}
	var targets []string
	for range 2 {
		s := sample
		m := fleettest.StartMirror(t, bed, mirror.Config{SplitKey: "header:X-User", QueueSize: 4096, Workers: 16, Sample: &s}, "tok")
		f.mirror = append(f.mirror, m)
		f.admins = append(f.admins, m.Admin)
		targets = append(targets, strings.TrimPrefix(m.Admin, "http://"))
	}
	f.prom = testbed.StartPrometheusForTest(t, testbed.PrometheusConfig{Targets: targets, BearerToken: "tok"})
	for _, m := range f.mirror {
		fleettest.Load(t, m.URL, 3, 2*time.Millisecond)
	}
	return f
}

// candidate5xx is the share of the candidate's served answers that were
// 5xx over the step, summed over the fleet.
const candidate5xx = `sum(rate(cutover_mirror_errors_total{side="candidate"}[$window])) / sum(rate(cutover_mirror_requests_total{side="candidate"}[$window]))`

func promPlan(steps, dryRun string) string {
	return `
name: e2e
steps: ` + steps + `
hold: 1h
min_requests: 30
interval: 1s
gates:
  error_rate: {disabled: true}
  latency: {disabled: true}
  differences: {disabled: true}
  prometheus:
    - name: candidate_5xx
      query: '` + candidate5xx + `'
      max: 0.02
      dry_run: ` + dryRun + `
`
}

func (f *promFleet) controller(t *testing.T, plan string) (*Controller, *Journal) {
	t.Helper()
	p, err := ParsePlan([]byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(context.Background(), filepath.Join(t.TempDir(), "cutover.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	fleet, err := NewFleet(f.admins, "tok")
	if err != nil {
		t.Fatal(err)
	}
	return &Controller{Plan: p, PlanYAML: plan, Journal: j, Source: fleet, Backend: fleet, Log: zerolog.Nop(), Actor: "test",
		Prometheus: &Prometheus{URL: f.prom.URL}}, j
}

// runInBackground runs c until the test ends.
func runInBackground(t *testing.T, c *Controller) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitGate polls the state until gate name has the verdict, and returns it.
func waitGate(t *testing.T, j *Journal, name, verdict string, within time.Duration) (*State, GateResult) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *State
	for time.Now().Before(deadline) {
		if st, err := j.Load(context.Background(), "e2e"); err == nil {
			last = st
			for _, g := range st.Gates {
				if g.Gate == name && g.Verdict == verdict {
					return st, g
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gate %s never %s within %v; last gates %+v", name, verdict, within, last.Gates)
	return nil, GateResult{}
}

func TestPrometheusGates(t *testing.T) {
	f := startPromFleet(t, 0)
	errors503 := testbed.Switches{ErrorRate: 0.05, ErrorStatus: 503}

	t.Run("5% of 503s fail the gate and roll back", func(t *testing.T) {
		defer f.bed.Candidate.SetSwitches(testbed.Switches{})
		c, j := f.controller(t, promPlan("[{weight: 10, hold: 4s}, 25, 100]", "false"))
		switched := switchAtStep(t, j, f.bed, 1, errors503)
		st := runController(t, c)
		if st.Status != StatusRolledBack {
			t.Fatalf("status %s, want rolled back; gates %+v", st.Status, st.Gates)
		}
		if sw := <-switched; sw.IsZero() {
			t.Fatal("rolled back before the 503s")
		}
		events, _ := j.History(context.Background(), "e2e")
		var passed bool
		for _, e := range events {
			for _, g := range e.Gates {
				passed = passed || (e.Kind == "step" && g.Gate == "candidate_5xx" && g.Verdict == GatePass)
			}
		}
		last := events[len(events)-1]
		if !passed {
			t.Error("the gate never passed step 1 while the candidate was faithful")
		}
		if !strings.Contains(last.Reason, "candidate_5xx gate failed") {
			t.Errorf("rollback reason %q, want the candidate_5xx gate", last.Reason)
		}
		for _, m := range f.mirror {
			if m.Weight() != 0 {
				t.Errorf("mirror at %g after the rollback", m.Weight())
			}
		}
		t.Logf("rolled back: %s", last.Reason)
	})

	t.Run("a dry run records its verdict and rolls nothing back", func(t *testing.T) {
		defer f.bed.Candidate.SetSwitches(testbed.Switches{})
		c, j := f.controller(t, promPlan("[25, 100]", "true"))
		runInBackground(t, c)
		waitGate(t, j, "candidate_5xx", GatePass, 20*time.Second)
		f.bed.Candidate.SetSwitches(errors503)
		_, g := waitGate(t, j, "candidate_5xx", GateFail, 20*time.Second)
		if !g.DryRun || !strings.HasPrefix(g.Reason, "dry run:") {
			t.Errorf("the failing verdict is not marked dry run: %+v", g)
		}
		time.Sleep(3 * c.Plan.Interval) // three more failing looks
		st, _ := j.Load(context.Background(), "e2e")
		if st.Status != StatusProgressing || st.Weight != 25 || f.mirror[0].Weight() != 25 {
			t.Errorf("after failing dry-run looks: %s at %g (mirror %g), want still progressing at 25", st.Status, st.Weight, f.mirror[0].Weight())
		}
	})

	t.Run("Prometheus stopped: insufficient, the rollout holds, then pauses at its deadline", func(t *testing.T) {
		f.prom.Stop()
		c, j := f.controller(t, promPlan("[{weight: 25, hold: 2s, max_duration: 8s}, 100]", "false"))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		began := time.Now()
		st, err := c.Run(ctx)
		if !errors.Is(err, ErrLeftPaused) || st.Status != StatusPaused || st.Weight != 25 {
			t.Fatalf("Run: %v, %s at %g; want left paused at 25 at the deadline", err, st.Status, st.Weight)
		}
		if d := time.Since(began); d < 8*time.Second {
			t.Errorf("paused after %v, before the 8s deadline", d)
		}
		var gate *GateResult
		for i, g := range st.Gates {
			if g.Gate == "candidate_5xx" {
				gate = &st.Gates[i]
			}
		}
		if gate == nil || gate.Verdict != GateInsufficient || !strings.Contains(gate.Reason, f.prom.URL) {
			t.Errorf("gates at the pause: %+v; want candidate_5xx insufficient, naming Prometheus %s", st.Gates, f.prom.URL)
		}
		events, _ := j.History(context.Background(), "e2e")
		for _, e := range events {
			if e.Kind == EventStep && e.Weight > 25 {
				t.Errorf("the rollout advanced to %g%% with its Prometheus gate blind", e.Weight)
			}
		}
	})
}
