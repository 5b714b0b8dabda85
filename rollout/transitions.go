package rollout

import (
	"fmt"
	"strings"
	"time"
)

// PhaseManualGate marks a rollout paused before a step whose plan asks for
// an operator's go-ahead; resuming enters the step.
const PhaseManualGate = "manual_gate"

// transition changes st and returns the event that journals the change.
type transition struct {
	plan  *Plan
	now   time.Time
	actor string
}

func (t transition) event(st *State, kind, reason string, gates []GateResult) Event {
	return Event{Time: t.now, Kind: kind, Status: st.Status, Step: st.Step, Weight: st.Weight, Reason: reason, Actor: t.actor, Gates: gates}
}

// enterStep puts st at step i with a fresh window, or pauses before it
// when the plan asks for a manual gate and force is false.
func (t transition) enterStep(st *State, i int, force bool, reason string) Event {
	step := t.plan.step(i)
	st.Step, st.Failures, st.Looks, st.Gates = i, 0, 0, nil
	if step.PauseBefore && !force {
		st.Status, st.Phase = StatusPaused, PhaseManualGate
		return t.event(st, EventPaused, fmt.Sprintf("manual gate before step %d (%g%%): resume to enter it", i+1, step.Weight), nil)
	}
	st.Status, st.Phase = StatusProgressing, PhaseHolding
	st.Weight = step.Weight
	st.StepStarted = t.now
	st.Deadline = t.now.Add(step.MaxDuration)
	st.DryRunFailed, st.Waiting = nil, false
	st.WindowID = fmt.Sprintf("%s/step-%d/%d", st.Rollout, i+1, t.now.UnixNano())
	return t.event(st, EventStep, reason, nil)
}

// start begins a new rollout at its first step.
func (t transition) start(name, planYAML string) (*State, []Event) {
	st := &State{Rollout: name, Plan: planYAML, Status: StatusPending}
	started := t.event(st, EventStarted, fmt.Sprintf("plan of %d steps", len(t.plan.Steps)), nil)
	return st, []Event{started, t.enterStep(st, 0, false, "first step")}
}

// advance moves past a step whose gates all passed.
func (t transition) advance(st *State, gates []GateResult) Event {
	if st.Step >= len(t.plan.Steps)-1 {
		st.Status, st.Phase = StatusPromoted, ""
		return t.event(st, EventPromoted, "every step passed its gates", gates)
	}
	done := st.Step + 1
	ev := t.enterStep(st, st.Step+1, false, fmt.Sprintf("step %d passed its gates", done))
	ev.Gates = gates
	return ev
}

// rollBack takes the weight back after failed gates: to 0 at once, or one
// step down per interval when the plan says "steps".
func (t transition) rollBack(st *State, gates []GateResult) Event {
	var failing []string
	for _, g := range gates {
		if g.Verdict == GateFail {
			failing = append(failing, fmt.Sprintf("%s gate failed: %s", g.Gate, g.Reason))
		}
	}
	st.Status, st.Phase = StatusRolledBack, ""
	st.Weight = t.rollbackWeight(st)
	return t.event(st, EventRolledBack, fmt.Sprintf("%d consecutive failed evaluations; %s", st.Failures, strings.Join(failing, "; ")), gates)
}

// rollbackWeight is the next weight on the way back to 0.
func (t transition) rollbackWeight(st *State) float64 {
	if t.plan.Failure.Rollback != "steps" {
		return 0
	}
	for i := len(t.plan.Steps) - 1; i >= 0; i-- {
		if w := t.plan.Steps[i].Weight; w < st.Weight {
			return w
		}
	}
	return 0
}

// apply carries out an operator command. A command that no longer makes
// sense (resume of a running rollout, anything after the end) is journaled
// as ignored, with why.
func (t transition) apply(st *State, c Command) Event {
	t.actor = c.Actor
	st.restore()
	ignored := func(why string) Event {
		return t.event(st, EventIgnored, fmt.Sprintf("%s: %s (%s)", c.Kind, why, c.Reason), nil)
	}
	if terminal(st.Status) && c.Kind != "abort" {
		return ignored("the rollout is " + st.Status)
	}
	switch c.Kind {
	case "pause":
		if st.Status == StatusPaused {
			return ignored("already paused")
		}
		st.Status, st.Phase = StatusPaused, PhaseOperator
		return t.event(st, EventPaused, c.Reason, nil)
	case "resume":
		if st.Status != StatusPaused {
			return ignored("not paused")
		}
		if st.Phase == PhaseManualGate {
			return t.enterStep(st, st.Step, true, "manual gate passed: "+c.Reason)
		}
		if st.Phase == PhaseDeadline {
			return t.enterStep(st, st.Step, true, "resumed after the step's deadline, the step begins again: "+c.Reason)
		}
		if st.Weight != t.plan.step(st.Step).Weight {
			return t.enterStep(st, st.Step, true, "resumed at the plan's weight after a manual one: "+c.Reason)
		}
		st.Status, st.Phase = StatusProgressing, PhaseHolding
		return t.event(st, EventResumed, c.Reason, nil)
	case "promote":
		next := st.Step + 1
		if c.Full {
			next = len(t.plan.Steps) - 1
		}
		if st.Status == StatusPaused && st.Phase == PhaseManualGate && !c.Full {
			next = st.Step // the step waiting at its gate is the next one
		}
		if next >= len(t.plan.Steps) {
			st.Status, st.Phase = StatusPromoted, ""
			return t.event(st, EventPromoted, "promoted by an operator: "+c.Reason, nil)
		}
		return t.enterStep(st, next, true, "promoted by an operator: "+c.Reason)
	case "abort":
		if st.Status == StatusAborted {
			return ignored("already aborted")
		}
		st.Status, st.Phase, st.Weight = StatusAborted, "", 0
		return t.event(st, EventAborted, c.Reason, nil)
	case "set-weight":
		st.Status, st.Phase, st.Weight = StatusPaused, PhaseOperator, c.Weight
		return t.event(st, EventWeightSet, fmt.Sprintf("weight set to %g by an operator (paused until resume): %s", c.Weight, c.Reason), nil)
	}
	return ignored("unknown command")
}

// restore takes an interrupted rollout back to what it was doing when its
// controller stopped.
func (st *State) restore() {
	if st.Status != StatusInterrupted {
		return
	}
	if st.Interrupted != nil {
		st.Status, st.Phase = st.Interrupted.Status, st.Interrupted.Phase
	} else {
		st.Status = StatusProgressing
	}
	st.Interrupted = nil
}

// interrupt marks st as left by a stopped controller.
func (t transition) interrupt(st *State, why string) Event {
	st.Interrupted = &Interruption{Time: t.now, Status: st.Status, Phase: st.Phase, Reason: why}
	st.Status = StatusInterrupted
	return t.event(st, EventInterrupted, fmt.Sprintf("controller stopped (%s) at step %d, %g%%: `rollout run` resumes it", why, st.Step+1, st.Weight), nil)
}

// timeOut carries out a step's on_timeout when its deadline passed.
func (t transition) timeOut(st *State, gates []GateResult, missing []string) Event {
	step := t.plan.step(st.Step)
	var why []string
	for _, g := range gates {
		if !decides(g.Verdict) && !g.DryRun {
			why = append(why, fmt.Sprintf("%s %s: %s", g.Gate, g.Verdict, g.Reason))
		}
	}
	if len(missing) > 0 {
		why = append(why, "mirrors not answering: "+strings.Join(missing, ", "))
	}
	reason := fmt.Sprintf("step %d not passed within its max_duration %s; %s", st.Step+1, step.MaxDuration, strings.Join(why, "; "))
	if step.OnTimeout == OnTimeoutRollback {
		st.Status, st.Phase = StatusRolledBack, ""
		st.Weight = t.rollbackWeight(st)
		return t.event(st, EventDeadline, reason+": rolling back", gates)
	}
	st.Status, st.Phase = StatusPaused, PhaseDeadline
	return t.event(st, EventDeadline, reason+": paused at the weight (resume re-enters the step)", gates)
}
