package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	Source interface {
		Measure(ctx context.Context, windowID string) (Measure, error)
	}
	Backend WeightSetter
	Log     zerolog.Logger
	// Actor is who runs the controller, journaled with its decisions.
	Actor string
	// Now is the clock [time.Now].
	Now func() time.Time
	// Webhook is the client for webhooks [a client with a 5s timeout].
	Webhook *http.Client

	// Prometheus evaluates the plan's Prometheus gates [nil: gates that
	// name no url are insufficient].
	Prometheus *Prometheus

	backendErr error // the last SetWeight failed (see reconcile)
}

// ErrPlanChanged means the state file holds this rollout under another plan.
var ErrPlanChanged = errors.New("the plan differs from the one this rollout started with")

func (c *Controller) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

// Run drives the rollout until it is promoted, rolled back or aborted, or
// ctx is done; it returns the last state. The caller holds the lock.
func (c *Controller) Run(ctx context.Context) (*State, error) {
	if c.Webhook == nil {
		c.Webhook = &http.Client{Timeout: 5 * time.Second}
	}
	st, err := c.resume(ctx)
	if err != nil {
		return nil, err
	}
	tick := time.NewTicker(c.Plan.Interval)
	defer tick.Stop()
	for {
		if st, err = c.Tick(ctx); err != nil {
			return st, err
		}
		if terminal(st.Status) && st.Weight == c.finalWeight(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, nil
		case <-tick.C:
		}
	}
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
		c.announce(ctx, st, events)
		return st, nil
	case err != nil:
		return nil, err
	case st.Plan != c.PlanYAML:
		return nil, fmt.Errorf("rollout %q: %w (start a new one with --restart)", st.Rollout, ErrPlanChanged)
	}
	ev := t.event(st, "controller_started", fmt.Sprintf("resuming %s at step %d (%g%%)", st.Status, st.Step+1, st.Weight), nil)
	if err := c.Journal.Save(ctx, st, []Event{ev}, nil); err != nil {
		return nil, err
	}
	return st, nil
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
			c.Log.Warn().Err(err).Msg("window not opened; the next evaluation opens it")
		}
	}
	st.Heartbeat = now
	if err := c.Journal.Save(ctx, st, events, applied); err != nil {
		return nil, err
	}
	c.announce(ctx, st, events)
	return st, nil
}

// judgeStep evaluates the gates of the current step and decides.
func (c *Controller) judgeStep(ctx context.Context, t transition, st *State) []Event {
	step := c.Plan.step(st.Step)
	if c.backendErr != nil {
		st.Gates = []GateResult{{Gate: GateBackend, Verdict: GateInsufficient, Reason: "the weight is not known to be in effect: " + c.backendErr.Error()}}
		return nil
	}
	m, err := c.Source.Measure(ctx, st.WindowID)
	if err != nil {
		// Blindness is no evidence either way: hold, say why.
		st.Gates = []GateResult{{Gate: "mirrors", Verdict: GateInsufficient, Reason: err.Error()}}
		c.Log.Warn().Err(err).Msg("cannot measure the step; holding")
		return nil
	}
	st.Looks++
	gates := judge(c.Plan, step, m, st.Looks)
	gates = append(gates, c.Prometheus.Judge(ctx, c.Plan.Gates.Prometheus, t.now.Sub(st.StepStarted), t.now)...)
	st.Gates = gates
	failed, allPass := false, true
	for _, g := range gates {
		if g.DryRun {
			continue
		}
		failed = failed || g.Verdict == GateFail
		allPass = allPass && g.Verdict == GatePass
	}
	if failed {
		st.Failures++
		if st.Failures >= c.Plan.Failure.Consecutive {
			return []Event{t.rollBack(st, gates)}
		}
		return []Event{t.event(st, "gate_failed", fmt.Sprintf("failed evaluation %d in a row; rollback at %d", st.Failures, c.Plan.Failure.Consecutive), gates)}
	}
	st.Failures = 0
	held := t.now.Sub(st.StepStarted) >= step.Hold
	st.Phase = PhaseJudging
	if !held {
		st.Phase = PhaseHolding
	}
	if allPass && held {
		return []Event{t.advance(st, gates)}
	}
	return nil
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
