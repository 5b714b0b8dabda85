package rollout

import (
	"context"
	"errors"
	"fmt"
)

// reconcile sets the journaled weight through the backend. A weight found
// changed by hand is restored and journaled (EventWeightDrift). A weight
// that cannot be set holds the step (judgeStep judges nothing while
// c.backendErr is set) and is journaled once (EventBackendFailed), not
// every interval; when it is set again the step's window and hold start
// anew, since what was measured meanwhile was not at the step's weight.
func (c *Controller) reconcile(ctx context.Context, t transition, st *State) []Event {
	err := c.Backend.SetWeight(ctx, st.Weight)
	var drift *DriftError
	if errors.As(err, &drift) {
		c.Log.Warn().Err(err).Float64("weight", st.Weight).Msg("weight changed behind the controller's back; restored")
		err = nil
	}
	var events []Event
	if drift != nil {
		events = append(events, t.event(st, EventWeightDrift, drift.Error(), nil))
	}
	switch {
	case err != nil && c.backendErr == nil:
		c.backendErr = err
		c.Log.Warn().Err(err).Float64("weight", st.Weight).Msg("weight not set; the step holds, retrying every interval")
		events = append(events, t.event(st, EventBackendFailed, fmt.Sprintf("weight %g%% not set, the step holds until it is: %v", st.Weight, err), nil))
	case err != nil:
		c.backendErr = err
		c.Log.Warn().Err(err).Float64("weight", st.Weight).Msg("weight still not set; holding")
	case c.backendErr != nil:
		c.backendErr = nil
		reason := fmt.Sprintf("weight %g%% set again", st.Weight)
		if st.Status == StatusProgressing {
			st.StepStarted = t.now
			st.Looks, st.Failures = 0, 0
			st.WindowID = fmt.Sprintf("%s/step-%d/%d", st.Rollout, st.Step+1, t.now.UnixNano())
			reason += "; the step's hold and window start now"
		}
		c.Log.Info().Float64("weight", st.Weight).Msg(reason)
		events = append(events, t.event(st, EventBackendRecovered, reason, nil))
	}
	return events
}
