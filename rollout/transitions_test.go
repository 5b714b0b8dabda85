package rollout

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testPlan(t *testing.T, extra string) *Plan {
	t.Helper()
	p, err := ParsePlan([]byte("name: t\nsteps: [5, {weight: 25, pause_before: true}, 50, 100]\n" + extra))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	entered := StateDetail{Deadline: at.Add(25 * time.Minute)} // 3 holds of 5m and 20 intervals of 30s
	interrupted := StateDetail{Interrupted: &Interruption{Status: StatusPaused, Phase: PhaseOperator}}
	tests := []struct {
		name      string
		from      State
		cmd       Command
		wantEvent string
		want      State
	}{
		{"pause", State{Status: StatusProgressing, Step: 0, Weight: 5},
			Command{Kind: "pause"}, "paused", State{Status: StatusPaused, Phase: "operator", Step: 0, Weight: 5}},
		{"resume keeps the hold", State{Status: StatusPaused, Phase: "operator", Step: 0, Weight: 5, StepStarted: at.Add(-time.Hour)},
			Command{Kind: "resume"}, "resumed", State{Status: StatusProgressing, Phase: PhaseHolding, Step: 0, Weight: 5, StepStarted: at.Add(-time.Hour)}},
		{"resume passes a manual gate", State{Status: StatusPaused, Phase: PhaseManualGate, Step: 1, Weight: 5},
			Command{Kind: "resume"}, "step", State{Status: StatusProgressing, Phase: PhaseHolding, Step: 1, Weight: 25, StepStarted: at, WindowID: "t/step-2/" + itoa(at.UnixNano()), StateDetail: entered}},
		{"promote skips the manual gate", State{Status: StatusProgressing, Step: 0, Weight: 5},
			Command{Kind: "promote"}, "step", State{Status: StatusProgressing, Phase: PhaseHolding, Step: 1, Weight: 25, StepStarted: at, WindowID: "t/step-2/" + itoa(at.UnixNano()), StateDetail: entered}},
		{"promote --full", State{Status: StatusProgressing, Step: 0, Weight: 5},
			Command{Kind: "promote", Full: true}, "step", State{Status: StatusProgressing, Phase: PhaseHolding, Step: 3, Weight: 100, StepStarted: at, WindowID: "t/step-4/" + itoa(at.UnixNano()), StateDetail: entered}},
		{"abort", State{Status: StatusProgressing, Step: 2, Weight: 50},
			Command{Kind: "abort"}, "aborted", State{Status: StatusAborted, Step: 2, Weight: 0}},
		{"set-weight pauses", State{Status: StatusProgressing, Step: 2, Weight: 50},
			Command{Kind: "set-weight", Weight: 30}, "weight_set", State{Status: StatusPaused, Phase: "operator", Step: 2, Weight: 30}},
		{"resume after set-weight restores the plan's weight", State{Status: StatusPaused, Phase: "operator", Step: 2, Weight: 30},
			Command{Kind: "resume"}, "step", State{Status: StatusProgressing, Phase: PhaseHolding, Step: 2, Weight: 50, StepStarted: at, WindowID: "t/step-3/" + itoa(at.UnixNano()), StateDetail: entered}},
		{"nothing after the end", State{Status: StatusRolledBack, Step: 2},
			Command{Kind: "resume"}, "ignored", State{Status: StatusRolledBack, Step: 2}},
		{"an interrupted rollout takes commands as what it was", State{Status: StatusInterrupted, Step: 0, Weight: 5, StateDetail: interrupted},
			Command{Kind: "resume"}, "resumed", State{Status: StatusProgressing, Phase: PhaseHolding, Step: 0, Weight: 5}},
		{"resume after a deadline begins the step again", State{Status: StatusPaused, Phase: PhaseDeadline, Step: 2, Weight: 50, StepStarted: at.Add(-time.Hour)},
			Command{Kind: "resume"}, "step", State{Status: StatusProgressing, Phase: PhaseHolding, Step: 2, Weight: 50, StepStarted: at, WindowID: "t/step-3/" + itoa(at.UnixNano()), StateDetail: entered}},
		{"resume when running", State{Status: StatusProgressing, Step: 0, Weight: 5},
			Command{Kind: "resume"}, "ignored", State{Status: StatusProgressing, Step: 0, Weight: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := transition{plan: testPlan(t, ""), now: at}
			st := tt.from
			st.Rollout = "t"
			ev := tr.apply(&st, tt.cmd)
			want := tt.want
			want.Rollout = "t"
			if ev.Kind != tt.wantEvent {
				t.Errorf("event %s (%s), want %s", ev.Kind, ev.Reason, tt.wantEvent)
			}
			if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRollbackWeights(t *testing.T) {
	t.Parallel()
	failed := []GateResult{{Gate: "error_rate", Verdict: GateFail, Reason: "too many"}}
	for _, tt := range []struct {
		policy string
		want   []float64
	}{
		{"", []float64{0}},
		{"failure: {rollback: steps}", []float64{25, 5, 0}},
	} {
		tr := transition{plan: testPlan(t, tt.policy), now: time.Now()}
		st := &State{Status: StatusProgressing, Step: 2, Weight: 50, Failures: 2}
		ev := tr.rollBack(st, failed)
		got := []float64{st.Weight}
		for st.Weight > 0 {
			st.Weight = tr.rollbackWeight(st)
			got = append(got, st.Weight)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("policy %q: weights on the way back (-want +got):\n%s", tt.policy, diff)
		}
		if ev.Kind != "rolled_back" || ev.Reason != "2 consecutive failed evaluations; error_rate gate failed: too many" {
			t.Errorf("event %s %q", ev.Kind, ev.Reason)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A look is due at the hold's end, not up to an interval after it; a
// failed look is confirmed a quarter interval later.
func TestWaitEndsAtTheHold(t *testing.T) {
	t.Parallel()
	p := testPlan(t, "interval: 1s\nhold: 10s\n")
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	c := &Controller{Plan: p, Now: func() time.Time { return now }}
	tests := []struct {
		name  string
		st    State
		want  time.Duration
		paced bool
	}{
		{"mid-hold", State{Status: StatusProgressing, StepStarted: now.Add(-5 * time.Second), StateDetail: StateDetail{Deadline: now.Add(time.Hour)}}, time.Second, true},
		{"a look failed", State{Status: StatusProgressing, Failures: 1, StepStarted: now.Add(-9700 * time.Millisecond), StateDetail: StateDetail{Deadline: now.Add(time.Hour)}}, 250 * time.Millisecond, true},
		{"hold ends in 300ms", State{Status: StatusProgressing, StepStarted: now.Add(-9700 * time.Millisecond), StateDetail: StateDetail{Deadline: now.Add(time.Hour)}}, 301 * time.Millisecond, false},
		{"deadline in 200ms", State{Status: StatusProgressing, StepStarted: now.Add(-time.Hour), StateDetail: StateDetail{Deadline: now.Add(200 * time.Millisecond)}}, 201 * time.Millisecond, false},
		{"paused", State{Status: StatusPaused, StepStarted: now.Add(-9700 * time.Millisecond)}, time.Second, true},
	}
	for _, tt := range tests {
		if got, paced := c.wait(&tt.st); got != tt.want || paced != tt.paced {
			t.Errorf("%s: next look in %v (counted from the look's start: %v), want %v (%v)", tt.name, got, paced, tt.want, tt.paced)
		}
	}
}
