package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cutover/cutover/reports"
	"github.com/cutover/cutover/rollout"
)

// rolloutTimeline reads a rollout's journal for the HTML report.
func rolloutTimeline(ctx context.Context, rf *rolloutFlags) (*reports.Timeline, error) {
	j, name, err := openRollout(ctx, rf, true)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	events, err := j.History(ctx, name)
	if err != nil {
		return nil, err
	}
	t := &reports.Timeline{}
	for _, e := range events {
		kind := e.Kind
		switch kind {
		case rollout.EventRolledBack:
			kind = reports.EventRollback
		case rollout.EventPromoted:
			kind = reports.EventPromote
		}
		p := reports.TimelinePoint{Time: e.Time, Weight: e.Weight, Event: kind, Reason: e.Reason, Status: e.Status, Step: e.Step}
		for _, g := range e.Gates {
			figure, limit := gateFigures(g)
			p.Gates = append(p.Gates, reports.Gate{Name: g.Gate, Figure: figure, Limit: limit, Passed: g.Verdict != rollout.GateFail})
		}
		t.Points = append(t.Points, p)
	}
	return t, nil
}

// gateFigures picks each gate's headline figure and its limit.
func gateFigures(g rollout.GateResult) (figure, limit string) {
	f := g.Figures
	if g.Verdict == rollout.GateNotApplicable {
		return "not applicable", "" // a source that cannot measure it: no figure to show
	}
	switch g.Gate {
	case rollout.GateErrorRate:
		return fmt.Sprintf("candidate %.3g%% vs legacy %.3g%%", 100*f["candidate_rate"], 100*f["legacy_rate"]), fmt.Sprintf("≤ %g× legacy", f["max_ratio"])
	case rollout.GateLatency:
		return fmt.Sprintf("%s ms", signed(f["shift_ms"])), fmt.Sprintf("≤ +%.3g ms", f["tolerance_ms"])
	case rollout.GateDifferences:
		return fmt.Sprintf("%.3g%% differ", 100*f["rate"]), fmt.Sprintf("≤ %g%%", 100*f["max_rate"])
	}
	return g.Verdict, ""
}

// signed renders a change with its sign: "+0.054", "−0.054".
func signed(v float64) string {
	if v < 0 {
		return fmt.Sprintf("−%.3g", -v)
	}
	return fmt.Sprintf("+%.3g", v)
}

// rolloutStateOf is the rollout's state now: its last event's.
func rolloutStateOf(t *reports.Timeline) *reports.RolloutState {
	if t == nil || len(t.Points) == 0 {
		return nil
	}
	last := t.Points[len(t.Points)-1]
	st := &reports.RolloutState{
		State:  strings.ReplaceAll(last.Status, "_", " "),
		Step:   fmt.Sprintf("%d, at %g%%", last.Step, last.Weight),
		Reason: last.Reason,
		Failed: last.Status == rollout.StatusRolledBack || last.Status == rollout.StatusAborted,
	}
	if st.State == "" {
		st.State = last.Event
	}
	return st
}
