package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/fleettest"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/mirror"
)

// fleetBed is the test bed with a mirror in front and a load through it.
type fleetBed struct {
	bed   *testbed.Bed
	admin string
	m     *mirror.Mirror
}

// startFleet starts the bed, a mirror and a load of 6 clients; pace is the
// pause each client takes between requests (0: as fast as it can). Without
// shadow, the mirror only serves: the error-rate gate needs no comparison.
func startFleet(t *testing.T, pace time.Duration, shadow bool) *fleetBed {
	t.Helper()
	return startFleetLoaded(t, shadow, func(url string) { fleettest.Load(t, url, 6, pace) })
}

// startFleetLoaded is startFleet with the load load starts on the
// mirror's URL (wrk, say).
func startFleetLoaded(t *testing.T, shadow bool, load func(url string)) *fleetBed {
	t.Helper()
	bed := testbed.StartForTest(t, testbed.Config{Secondary: shadow})
	sample := 100.0
	if !shadow {
		sample = 0
	}
	m := fleettest.StartMirror(t, bed, mirror.Config{SplitKey: "header:X-User", QueueSize: 4096, Workers: 32, Sample: &sample}, "tok")
	load(m.URL)
	return &fleetBed{bed: bed, admin: m.Admin, m: m.Mirror}
}

// The e2e plans hold steps briefly. Loads are paced for the latency gate:
// the candidate fixture runs inside the race-instrumented test binary while
// legacy is NGINX, so a saturated machine makes a faithful candidate look
// slow; max_shift absorbs what remains.
const e2ePlan = `
name: e2e
steps: [10, 25, 50, 100]
hold: 1500ms
min_requests: 30
interval: 500ms
max_duration: 60s
gates:
  differences: {min_compared: 30}
  latency: {max_shift: 15ms, tail: {max_shift: 50ms}}
`

// e2eErrorPlan watches the error rate alone, with steps held long enough
// that a regression is caught inside the step it starts in.
const e2eErrorPlan = `
name: e2e
steps: [{weight: 10, hold: 3s}, 25, 50, 100]
hold: 20s
min_requests: 30
interval: 2s
max_duration: 60s
gates:
  latency: {disabled: true}
  differences: {disabled: true}
`

func newController(t *testing.T, f *fleetBed, planYAML string) (*Controller, *Journal) {
	t.Helper()
	planYAML = scaledPlan(planYAML)
	p, err := ParsePlan([]byte(planYAML))
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(context.Background(), filepath.Join(t.TempDir(), "cutover.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	fleet, err := NewFleet([]string{f.admin}, "tok")
	if err != nil {
		t.Fatal(err)
	}
	return &Controller{Plan: p, PlanYAML: planYAML, Journal: j, Source: fleet, Backend: fleet, Log: zerolog.Nop(), Actor: "test"}, j
}

// switchAtStep sets the candidate's switches once the rollout enters step
// index i, and reports when.
func switchAtStep(t *testing.T, j *Journal, bed *testbed.Bed, i int, sw testbed.Switches) <-chan time.Time {
	at := make(chan time.Time, 1)
	go func() {
		defer close(at)  // never switched: the receiver gets the zero time
		for range 6000 { // two minutes, or until the rollout ended
			st, err := j.Load(context.Background(), "e2e")
			if err == nil && terminal(st.Status) {
				return
			}
			if err == nil && st.Step >= i {
				bed.Candidate.SetSwitches(sw)
				at <- time.Now()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return at
}

func runController(t *testing.T, c *Controller) *State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st, err := c.Run(ctx)
	if err != nil {
		t.Fatalf("%v: status %s at step %d, gates %+v", err, st.Status, st.Step+1, st.Gates)
	}
	return st
}

// hookReceiver is a webhook endpoint on loopback that keeps what it got.
func hookReceiver(t *testing.T) (string, func() []WebhookPayload) {
	t.Helper()
	var mu sync.Mutex
	var got []WebhookPayload
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/hook", func() []WebhookPayload {
		mu.Lock()
		defer mu.Unlock()
		return append([]WebhookPayload(nil), got...)
	}
}

func TestFaithfulCandidateIsPromotedThroughEveryStep(t *testing.T) {
	f := startFleet(t, 20*time.Millisecond, true)
	hook, received := hookReceiver(t)
	c, j := newController(t, f, e2ePlan+"webhooks: ["+hook+"]\n")
	st := runController(t, c)
	if st.Status != StatusPromoted || f.m.Weight() != 100 {
		t.Fatalf("status %s, mirror weight %g: want promoted at 100; gates %+v", st.Status, f.m.Weight(), st.Gates)
	}
	events, _ := j.History(context.Background(), "e2e")
	var steps []float64
	for _, e := range events {
		if e.Kind == "step" {
			steps = append(steps, e.Weight)
		}
	}
	if fmt.Sprint(steps) != "[10 25 50 100]" {
		t.Errorf("steps entered %v, want [10 25 50 100]", steps)
	}
	var hooks []string
	for _, p := range received() {
		if p.Event == EventInsufficient {
			continue // a step that waited for evidence after its hold says so; not a transition
		}
		hooks = append(hooks, fmt.Sprintf("%s %g", p.Event, p.Weight))
		if p.Event == "step" && p.Step > 1 && len(p.Gates) == 0 {
			t.Errorf("webhook for step %d carries no gate figures", p.Step)
		}
	}
	if got, want := strings.Join(hooks, ", "), "started 0, step 10, step 25, step 50, step 100, promoted 100"; got != want {
		t.Errorf("webhooks received: %s; want %s", got, want)
	}
}

func TestRegressionsAreRolledBack(t *testing.T) {
	tests := []struct {
		name      string
		plan      string
		pace      time.Duration
		switches  testbed.Switches
		gate      string
		figure    string
		intervals int // the rollback comes within this many intervals of the switch
	}{
		{"3% 5xx at step 25", e2eErrorPlan, 0, testbed.Switches{ErrorRate: 0.03}, "error_rate", "candidate_rate", 2},
		{"+30ms latency", e2ePlan, 20 * time.Millisecond, testbed.Switches{Latency: testbed.Latency{Fixed: testbed.Duration(scaled(30 * time.Millisecond))}}, "latency", "shift_ms", 4},
		{"JSON differs on one endpoint", e2ePlan, 20 * time.Millisecond, testbed.Switches{ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`0`)}}, "differences", "rate", 4},
	}
	for _, tt := range tests {
		// One at a time: each runs a bed, a mirror and a load on 2 cores.
		t.Run(tt.name, func(t *testing.T) {
			f := startFleet(t, tt.pace, tt.gate != "error_rate")
			c, j := newController(t, f, tt.plan)
			switched := switchAtStep(t, j, f.bed, 1, tt.switches)
			watch := watchServed(f.m)
			st := runController(t, c)
			watch.stop()
			if st.Status != StatusRolledBack || f.m.Weight() != 0 {
				t.Fatalf("status %s, mirror weight %g: want rolled back to 0", st.Status, f.m.Weight())
			}
			events, _ := j.History(context.Background(), "e2e")
			last := events[len(events)-1]
			if last.Kind != "rolled_back" || !strings.Contains(last.Reason, tt.gate+" gate failed") {
				t.Fatalf("last event %s: %q, want a rollback naming the %s gate", last.Kind, last.Reason, tt.gate)
			}
			found := false
			for _, g := range last.Gates {
				if g.Gate == tt.gate && g.Verdict == GateFail {
					_, found = g.Figures[tt.figure]
				}
			}
			if !found {
				t.Errorf("history's rollback lacks the %s gate's figure %s: %+v", tt.gate, tt.figure, last.Gates)
			}
			sw := <-switched
			if sw.IsZero() {
				t.Fatalf("rolled back before the switch: %s", last.Reason)
			}
			// From the switch, or from when the candidate had served the
			// errors the gate needs, when a busy machine served them later.
			suffice := time.Duration(0)
			if tt.switches.ErrorRate > 0 {
				suffice = watch.sufficed(sw, served{errors: errorsNeeded(c.Plan, c.Plan.Steps[1].Weight)})
			}
			if d, limit := last.Time.Sub(sw), suffice+time.Duration(tt.intervals)*c.Plan.Interval+c.Plan.Interval/2+slack(); d > limit {
				t.Errorf("rolled back %v after the switch, want within %v (%d intervals)", d, limit, tt.intervals)
			}
			t.Logf("rolled back %v after the switch: %s", last.Time.Sub(sw), last.Reason)
		})
	}
}
