package rollout

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testbed"
)

// A router that cannot be reached holds the step and says so once; a
// weight changed on it by hand is restored and journaled.
func TestFrontDoorFailuresHoldAndDriftIsReported(t *testing.T) {
	legacy, candidate := twoServers(t)
	dir := t.TempDir()
	hp := testbed.StartHAProxyForTest(t, testbed.HAProxyConfig{Dir: dir, Legacy: legacy, Candidate: candidate})
	door, err := ParseHAProxy(hp.Socket + "?backend=app&legacy=legacy&candidate=candidate")
	if err != nil {
		t.Fatal(err)
	}
	door.Attempts = 2
	c, j := frontController(t, "name: e2e\nsteps: [10, 100]\nhold: 1h\ninterval: 200ms\ngates: {latency: {disabled: true}, differences: {disabled: true}}\n", door)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	wait := func(what string, cond func(*State, []Event) bool) (*State, []Event) {
		t.Helper()
		for range 300 {
			st, err := j.Load(context.Background(), "e2e")
			events, _ := j.History(context.Background(), "e2e")
			if err == nil && cond(st, events) {
				return st, events
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("never %s", what)
		return nil, nil
	}
	count := func(events []Event, kind string) (n int, last Event) {
		for _, e := range events {
			if e.Kind == kind {
				n, last = n+1, e
			}
		}
		return n, last
	}
	wait("at 10%", func(st *State, _ []Event) bool { return st.Looks >= 1 })
	if w, _ := door.weights(ctx); w.share() != 10 {
		t.Fatalf("HAProxy at %+v, want 10%%", w)
	}

	// By hand, behind the controller's back.
	if err := door.command(ctx, "set weight app/candidate 100", nil); err != nil {
		t.Fatal(err)
	}
	_, events := wait("reports the drift", func(_ *State, ev []Event) bool { n, _ := count(ev, EventWeightDrift); return n > 0 })
	_, drift := count(events, EventWeightDrift)
	if !strings.Contains(drift.Reason, "found 35.7%") || !strings.Contains(drift.Reason, "had set 10%") {
		t.Errorf("drift journaled as %q", drift.Reason)
	}
	if w, _ := door.weights(ctx); w.share() != 10 {
		t.Errorf("after the drift HAProxy is at %+v, want 10%% restored", w)
	}

	// HAProxy gone: the step holds, and says so once.
	hp.Stop()
	st, events := wait("holds on the backend", func(st *State, ev []Event) bool {
		n, _ := count(ev, EventBackendFailed)
		return n > 0 && len(st.Gates) == 1 && st.Gates[0].Gate == GateBackend
	})
	if st.Status != StatusProgressing || st.Gates[0].Verdict != GateInsufficient || !strings.Contains(st.Gates[0].Reason, "runtime API") {
		t.Errorf("with HAProxy gone: %s, gates %+v; want a hold on the backend naming the runtime API", st.Status, st.Gates)
	}
	time.Sleep(600 * time.Millisecond) // three more failing intervals
	events, _ = j.History(context.Background(), "e2e")
	if n, _ := count(events, EventBackendFailed); n != 1 {
		t.Errorf("backend_failed journaled %d times over several intervals, want once", n)
	}

	// Back (same socket): the weight is set again and the step restarts.
	testbed.StartHAProxyForTest(t, testbed.HAProxyConfig{Dir: filepath.Clean(dir), Legacy: legacy, Candidate: candidate})
	st, _ = wait("recovers", func(st *State, ev []Event) bool {
		n, _ := count(ev, EventBackendRecovered)
		return n > 0 && (len(st.Gates) == 0 || st.Gates[0].Gate != GateBackend)
	})
	if w, _ := door.weights(ctx); w.share() != 10 || st.Weight != 10 {
		t.Errorf("after recovery HAProxy at %+v, rollout at %g; want 10%%", w, st.Weight)
	}
}
