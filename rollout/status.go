package rollout

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// PlanOf parses the plan a state was journaled with.
func PlanOf(st *State) (*Plan, error) {
	p, err := ParsePlan([]byte(st.Plan))
	if err != nil {
		return nil, fmt.Errorf("journaled plan of %q: %w", st.Rollout, err)
	}
	return p, nil
}

// ApplyPending applies queued operator commands straight to the state: for
// when no controller runs (the caller holds the lock). The weight reaches
// the mirrors when a controller runs again.
func ApplyPending(ctx context.Context, j *Journal, name, actor string, now time.Time) (*State, error) {
	st, err := j.Load(ctx, name)
	if err != nil {
		return nil, err
	}
	p, err := PlanOf(st)
	if err != nil {
		return nil, err
	}
	cmds, err := j.Pending(ctx, name)
	if err != nil {
		return nil, err
	}
	t := transition{plan: p, now: now.UTC(), actor: actor}
	var events []Event
	var ids []int64
	for _, c := range cmds {
		events = append(events, t.apply(st, c))
		ids = append(ids, c.ID)
	}
	return st, j.Save(ctx, st, events, ids)
}

// Describe writes the state for a person: step, weight, each gate's
// figures and verdict, and the hold left.
func (st *State) Describe(w io.Writer, p *Plan, pending []Command, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "rollout\t%s\n", st.Rollout)
	status := st.Status
	if st.Phase != "" {
		status += " (" + st.Phase + ")"
	}
	fmt.Fprintf(tw, "status\t%s\n", status)
	step := p.step(st.Step)
	fmt.Fprintf(tw, "step\t%d of %d (plan %g%%)\n", st.Step+1, len(p.Steps), step.Weight)
	fmt.Fprintf(tw, "weight\t%g%%\n", st.Weight)
	if st.Status == StatusProgressing {
		left := step.Hold - now.Sub(st.StepStarted)
		if left > 0 {
			fmt.Fprintf(tw, "hold\t%s left of %s\n", left.Round(time.Second), step.Hold)
		} else {
			fmt.Fprintf(tw, "hold\tserved (%s); waiting for every gate to pass\n", step.Hold)
		}
	}
	if st.Status == StatusProgressing && !st.Deadline.IsZero() {
		fmt.Fprintf(tw, "deadline\t%s left (max_duration %s, then %s)\n", max(st.Deadline.Sub(now), 0).Round(time.Second), step.MaxDuration, step.OnTimeout)
	}
	if st.Interrupted != nil {
		fmt.Fprintf(tw, "interrupted\t%s at %s, was %s: `rollout run` resumes it\n", st.Interrupted.Reason, st.Interrupted.Time.Format(time.RFC3339), st.Interrupted.Status)
	}
	if st.Waiting {
		fmt.Fprintf(tw, "evidence\tinsufficient: the hold is served, a gate waits for more (see below)\n")
	}
	if len(st.Missing) > 0 {
		fmt.Fprintf(tw, "mirrors missing\t%s\n", strings.Join(st.Missing, ", "))
	}
	if len(st.DryRunFailed) > 0 {
		fmt.Fprintf(tw, "dry-run failed\t%s (nothing rolls back)\n", strings.Join(st.DryRunFailed, ", "))
	}
	if !st.Heartbeat.IsZero() {
		fmt.Fprintf(tw, "last evaluation\t%s ago (every %s)\n", now.Sub(st.Heartbeat).Round(time.Second), p.Interval)
	}
	if st.Failures > 0 {
		fmt.Fprintf(tw, "failed evaluations\t%d in a row (rollback at %d)\n", st.Failures, p.Failure.Consecutive)
	}
	for _, g := range st.Gates {
		name := g.Gate
		if g.DryRun {
			name += " (dry run)"
		}
		fmt.Fprintf(tw, "gate %s\t%s: %s\n", name, g.Verdict, g.Reason)
	}
	for _, c := range pending {
		fmt.Fprintf(tw, "pending\t%s %s by %s (%s)\n", c.Kind, weightArg(c), c.Actor, c.Reason)
	}
	return tw.Flush()
}

func weightArg(c Command) string {
	if c.Kind == "set-weight" {
		return fmt.Sprintf("%g", c.Weight)
	}
	if c.Full {
		return "--full"
	}
	return ""
}
