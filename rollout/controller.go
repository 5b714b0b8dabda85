package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Controller drives one rollout: each interval it applies the operators'
// commands, sets the journaled weight through the backend, judges the
// step's gates on what the fleet measured, and moves on, holds or rolls
// back. Its state is the journal: killed at any point and restarted, it
// takes up the same step with the hold already served.
type Controller struct {
	Plan     *Plan
	PlanYAML string
	Journal  *Journal
	// Source measures the step; Backend sets the weight (often the same
	// Fleet).
	Source  Source
	Backend WeightSetter
	Log     zerolog.Logger
	// Actor is who runs the controller, journaled with its decisions.
	Actor string
	// Now is the clock [time.Now].
	Now func() time.Time
	// Webhook is the client for webhooks [a client with a 5s timeout].
	Webhook *http.Client
	// AcceptPlanChange takes a plan that differs from the journaled one in
	// steps not yet begun; without it such a plan is refused.
	AcceptPlanChange bool
	// Metrics, when not nil, shows every look on /metrics.
	Metrics *Metrics

	// Prometheus evaluates the plan's Prometheus gates [nil: gates that
	// name no url are insufficient].
	Prometheus *Prometheus

	evidence   stepEvidence
	backendErr error // the last SetWeight failed (see reconcile)
}

// The ways Run ends other than promoted, rolled back or aborted.
var (
	// ErrPlanChanged means the state file holds this rollout under another plan.
	ErrPlanChanged = errors.New("the plan differs from the one this rollout runs under")
	// ErrInterrupted means ctx was done before the rollout ended; the
	// journal says interrupted and a new Run resumes the same step.
	ErrInterrupted = errors.New("interrupted before the rollout ended")
	// ErrLeftPaused means a step's deadline paused the rollout: it waits
	// for an operator (resume, promote, abort) with no controller running.
	ErrLeftPaused = errors.New("paused at a step's deadline")
)

func (c *Controller) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// Run drives the rollout until it is promoted, rolled back or aborted
// (nil error), left paused at a deadline (ErrLeftPaused), or ctx is done
// (ErrInterrupted); it returns the last state. The caller holds the lock.
func (c *Controller) Run(ctx context.Context) (*State, error) {
	if c.Webhook == nil {
		c.Webhook = &http.Client{Timeout: 5 * time.Second}
	}
	st, err := c.resume(ctx)
	if err != nil {
		return st, err
	}
	if leftPaused(st) {
		return st, ErrLeftPaused
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return c.interrupted(ctx, st)
		case <-timer.C:
		}
		began := time.Now()
		next, err := c.Tick(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return c.interrupted(ctx, st)
			}
			return st, err
		}
		st = next
		switch {
		case terminal(st.Status) && st.Weight == c.finalWeight(st):
			return st, nil
		case leftPaused(st):
			return st, ErrLeftPaused
		}
		// Looks keep their pace: the time a look took is part of the
		// interval (a wait to the hold's end is already counted from now).
		d, paced := c.wait(st)
		if paced {
			d = max(d-time.Since(began), time.Millisecond)
		}
		timer.Reset(d)
	}
}

// confirmFraction: a failed look is confirmed 1/confirmFraction of an
// interval later.
const confirmFraction = 4

func leftPaused(st *State) bool { return st.Status == StatusPaused && st.Phase == PhaseDeadline }

// wait is the time to the next look: an interval, or less when the hold
// or the deadline ends sooner, so that a hold lasts what the plan says.
// A failed look is confirmed a quarter interval later, not a whole one:
// the rollback waits for the failure to show again on newer evidence,
// not for the cadence. paced says d counts from the look's start (the
// time the look took is part of it), not from now.
func (c *Controller) wait(st *State) (d time.Duration, paced bool) {
	d = c.Plan.Interval
	if st.Status != StatusProgressing {
		return d, true
	}
	if st.Failures > 0 {
		return max(d/confirmFraction, time.Millisecond), true
	}
	now := c.now()
	for _, at := range []time.Time{st.StepStarted.Add(c.Plan.step(st.Step).Hold), st.Deadline} {
		if left := at.Sub(now); left > 0 && left < d {
			d, paced = left+time.Millisecond, false
		}
	}
	return d, d == c.Plan.Interval
}

// interrupted journals that the controller stops before the end.
func (c *Controller) interrupted(ctx context.Context, last *State) (*State, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	st, err := c.Journal.Load(ctx, c.Plan.Name)
	if err != nil {
		return last, fmt.Errorf("%w: %w", ErrInterrupted, err)
	}
	if terminal(st.Status) || st.Status == StatusInterrupted {
		return st, ErrInterrupted
	}
	t := transition{plan: c.Plan, now: c.now(), actor: c.Actor}
	ev := t.interrupt(st, "signal")
	if err := c.Journal.Save(ctx, st, []Event{ev}, nil); err != nil {
		return st, fmt.Errorf("%w: %w", ErrInterrupted, err)
	}
	c.announce(ctx, st, []Event{ev})
	c.Metrics.observe(c.Plan, st)
	return st, ErrInterrupted
}

// resume loads the rollout, or starts it, and journals the controller's
// arrival so that history shows every restart.
func (c *Controller) resume(ctx context.Context) (*State, error) {
	t := transition{plan: c.Plan, now: c.now(), actor: c.Actor}
	st, err := c.Journal.Load(ctx, c.Plan.Name)
	switch {
	case errors.Is(err, ErrUnknownRollout):
		st, events := t.start(c.Plan.Name, c.PlanYAML)
		if err := c.Journal.Save(ctx, st, events, nil); err != nil {
			return nil, err
		}
		if err := c.Journal.savePlan(ctx, st.Rollout, c.PlanYAML, c.Actor, t.now); err != nil {
			return nil, err
		}
		c.announce(ctx, st, events)
		return st, nil
	case err != nil:
		return nil, err
	}
	var events []Event
	changed, err := c.takePlan(ctx, t, st)
	if err != nil {
		return st, err
	}
	if changed != nil {
		events = append(events, *changed)
	}
	was := st.Status
	st.restore()
	if st.Deadline.IsZero() && st.Status == StatusProgressing {
		st.Deadline = st.StepStarted.Add(c.Plan.step(st.Step).MaxDuration)
	}
	how := st.Status
	if was == StatusInterrupted {
		how += " after an interruption"
	}
	events = append(events, t.event(st, EventControllerStarted, fmt.Sprintf("resuming %s at step %d (%g%%)", how, st.Step+1, st.Weight), nil))
	if err := c.Journal.Save(ctx, st, events, nil); err != nil {
		return nil, err
	}
	c.announce(ctx, st, events)
	return st, nil
}

// takePlan compares the plan with the journaled one, parsed: a plan that
// only reads differently (comments, order, defaults written out) is the
// same plan. A changed plan is taken with AcceptPlanChange when the steps
// already begun are unchanged; it is journaled, and history is kept.
func (c *Controller) takePlan(ctx context.Context, t transition, st *State) (*Event, error) {
	if st.Plan == c.PlanYAML {
		return nil, nil
	}
	old, err := PlanOf(st)
	if err != nil {
		return nil, err
	}
	changes := planChanges(old, c.Plan)
	if len(changes) == 0 {
		st.Plan = c.PlanYAML // the same plan, written otherwise
		return nil, nil
	}
	what := strings.Join(changes, "; ")
	if !c.AcceptPlanChange {
		return nil, fmt.Errorf("rollout %q: %w (%s): run with --accept-plan-change to take it for the steps not yet begun, or --restart to begin anew", st.Rollout, ErrPlanChanged, what)
	}
	begun := min(st.Step, len(old.Steps)-1)
	if terminal(st.Status) {
		return nil, fmt.Errorf("rollout %q is %s: %w (%s): start a new one with --restart", st.Rollout, st.Status, ErrPlanChanged, what)
	}
	for i := 0; i <= begun; i++ {
		if i >= len(c.Plan.Steps) || !sameSchedule(old.Steps[i], c.Plan.Steps[i]) {
			return nil, fmt.Errorf("rollout %q: %w in step %d, which has begun (%s): only steps not yet begun can change; --restart begins anew", st.Rollout, ErrPlanChanged, i+1, what)
		}
	}
	if err := c.Journal.savePlan(ctx, st.Rollout, c.PlanYAML, c.Actor, t.now); err != nil {
		return nil, err
	}
	st.Plan = c.PlanYAML
	ev := t.event(st, EventPlanChanged, "plan changed, taken with --accept-plan-change: "+what, nil)
	return &ev, nil
}

// sameSchedule reports whether two steps hold the same weight the same way.
func sameSchedule(a, b Step) bool {
	return a.Weight == b.Weight && a.Hold == b.Hold && a.MinRequests == b.MinRequests && a.PauseBefore == b.PauseBefore
}

// finalWeight is where a finished rollout leaves the weight.
func (c *Controller) finalWeight(st *State) float64 {
	switch st.Status {
	case StatusPromoted:
		return 100
	case StatusRolledBack, StatusAborted:
		return 0
	}
	return st.Weight
}

// Tick is one evaluation interval.
func (c *Controller) Tick(ctx context.Context) (*State, error) {
	now := c.now()
	t := transition{plan: c.Plan, now: now, actor: c.Actor}
	st, err := c.Journal.Load(ctx, c.Plan.Name)
	if err != nil {
		return nil, err
	}
	cmds, err := c.Journal.Pending(ctx, st.Rollout)
	if err != nil {
		return nil, err
	}
	window := st.WindowID
	var events []Event
	var applied []int64
	for _, cmd := range cmds {
		events = append(events, t.apply(st, cmd))
		applied = append(applied, cmd.ID)
	}
	switch {
	case st.Status == StatusPromoted:
		st.Weight = 100
	case st.Status == StatusRolledBack && st.Weight > 0:
		if len(cmds) == 0 && st.Heartbeat.Add(c.Plan.Interval/2).Before(now) {
			st.Weight = t.rollbackWeight(st) // stepping down, one step an interval
		}
	case st.Status == StatusProgressing:
		events = append(events, c.judgeStep(ctx, t, st)...)
	}
	// Reconcile: the backend gets the journaled weight every interval,
	// which also renews the mirrors' lease.
	events = append(events, c.reconcile(ctx, t, st)...)
	if st.WindowID != window && st.Status == StatusProgressing {
		// A new step: open its window now, after the weight changed, so
		// that its first interval counts.
		if _, err := c.Source.Measure(ctx, st.WindowID); err != nil {
			c.Log.Warn().Err(err).Msg("window not opened everywhere; the next evaluation opens it")
		}
		c.evidence.open(st.WindowID, c.now())
	}
	st.Heartbeat = now
	if err := c.Journal.Save(ctx, st, events, applied); err != nil {
		return nil, err
	}
	c.announce(ctx, st, events)
	c.Metrics.observe(c.Plan, st)
	return st, nil
}

// judgeStep evaluates the gates of the current step and decides.
func (c *Controller) judgeStep(ctx context.Context, t transition, st *State) []Event {
	step := c.Plan.step(st.Step)
	if c.backendErr != nil {
		st.Gates = []GateResult{{Gate: GateBackend, Verdict: GateInsufficient, Reason: "the weight is not known to be in effect: " + c.backendErr.Error()}}
		if !t.now.Before(st.Deadline) {
			return []Event{t.timeOut(st, st.Gates, st.Missing)}
		}
		return nil
	}
	m, err := c.Source.Measure(ctx, st.WindowID)
	if err != nil {
		// Blindness is no evidence either way: hold, say why, and let the
		// deadline decide.
		var blind *BlindError
		missing := st.Missing
		if errors.As(err, &blind) {
			missing = blind.Missing
		}
		st.Gates = []GateResult{{Gate: GateMirrors, Verdict: GateInsufficient, Reason: err.Error()}}
		c.Log.Warn().Err(err).Msg("cannot measure the step; holding")
		events := c.missingChanged(t, st, missing)
		if !st.Waiting {
			st.Waiting = true
			events = append(events, t.event(st, EventInsufficient, "cannot measure the step: "+err.Error(), st.Gates))
		}
		if !t.now.Before(st.Deadline) {
			events = append(events, t.timeOut(st, st.Gates, st.Missing))
		}
		return events
	}
	events := c.missingChanged(t, st, m.Missing)
	if c := m.Counts; (m.Legacy.Requests == 0 || step.Weight == 100) && c.Compared+c.Failed.Legacy+c.Failed.Candidate+c.Failed.Both == 0 && st.Baseline != nil {
		m.Legacy, m.LegacyBaseline = *st.Baseline, true
	}
	st.Looks++
	ev := c.evidence.add(st.WindowID, t.now, m, c.Plan.RecentIntervals, st.Looks)
	gates := judge(c.Plan, step, ev)
	gates = append(gates, c.Prometheus.Judge(ctx, step.Gates.Prometheus, t.now.Sub(st.StepStarted), t.now)...)
	if len(m.Missing) > 0 {
		gates = append(gates, GateResult{Gate: GateMirrors, Verdict: GatePass, Window: WindowStep,
			Reason: fmt.Sprintf("judged on the %d mirrors that answered; not answering: %s", m.Answered, strings.Join(m.Missing, ", "))})
	}
	st.Gates = gates
	failed, allPass, insufficient := false, true, false
	var dryFailed []GateResult
	for _, g := range gates {
		if g.DryRun {
			if g.Verdict == GateFail && !slices.Contains(st.DryRunFailed, g.Gate) {
				st.DryRunFailed = append(st.DryRunFailed, g.Gate)
				dryFailed = append(dryFailed, g)
			}
			continue
		}
		failed = failed || g.Verdict == GateFail
		allPass = allPass && decides(g.Verdict)
		insufficient = insufficient || g.Verdict == GateInsufficient
	}
	for _, g := range dryFailed {
		events = append(events, t.event(st, EventDryRunFailed, fmt.Sprintf("dry-run gate %s failed (nothing rolls back): %s", g.Gate, g.Reason), []GateResult{g}))
	}
	if failed {
		st.Failures++
		if st.Failures >= c.Plan.Failure.Consecutive {
			return append(events, t.rollBack(st, gates))
		}
		return append(events, t.event(st, EventGateFailed, fmt.Sprintf("failed evaluation %d in a row; rollback at %d", st.Failures, c.Plan.Failure.Consecutive), gates))
	}
	st.Failures = 0
	held := t.now.Sub(st.StepStarted) >= step.Hold
	st.Phase = PhaseJudging
	if !held {
		st.Phase = PhaseHolding
	}
	if allPass && held {
		if m.Legacy.Requests > 0 && !m.LegacyBaseline {
			st.Baseline = &Served{Requests: m.Legacy.Requests, Errors: m.Legacy.Errors}
		}
		return append(events, t.advance(st, gates))
	}
	if held && insufficient && !st.Waiting {
		st.Waiting = true
		var why []string
		for _, g := range gates {
			if g.Verdict == GateInsufficient && !g.DryRun {
				why = append(why, g.Gate+": "+g.Reason)
			}
		}
		events = append(events, t.event(st, EventInsufficient, fmt.Sprintf("hold served, waiting for evidence until the deadline (%s): %s",
			st.Deadline.Format(time.RFC3339), strings.Join(why, "; ")), gates))
	}
	if !t.now.Before(st.Deadline) {
		events = append(events, t.timeOut(st, gates, st.Missing))
	}
	return events
}

// missingChanged journals a change in the mirrors that do not answer.
func (c *Controller) missingChanged(t transition, st *State, missing []string) []Event {
	if slices.Equal(st.Missing, missing) {
		return nil
	}
	st.Missing = slices.Clone(missing)
	reason := "every mirror answers again"
	if len(missing) > 0 {
		reason = "not answering: " + strings.Join(missing, ", ")
	}
	return []Event{t.event(st, EventMirrorsMissing, reason, nil)}
}

// announce logs events and posts them to the webhooks.
func (c *Controller) announce(ctx context.Context, st *State, events []Event) {
	for _, e := range events {
		c.Log.Info().Str("event", e.Kind).Str("status", e.Status).Int("step", e.Step+1).Float64("weight", e.Weight).Msg(e.Reason)
		if !notifies(e.Kind) || len(c.Plan.Webhooks) == 0 {
			continue
		}
		for _, err := range notify(ctx, c.Webhook, c.Plan.Webhooks, st.Rollout, e) {
			c.Log.Warn().Err(err).Msg("webhook failed")
		}
	}
}
