package rollout

import (
	"context"
	"fmt"
	"time"
)

// Event kinds the front doors add to the journal.
const (
	// EventWeightDrift: the router held another weight than the one the
	// controller had set (changed by hand); the controller restored its own.
	EventWeightDrift = "weight_drift"
	// EventBackendFailed: the weight could not be set or confirmed; the
	// rollout holds its step until it can.
	EventBackendFailed = "backend_failed"
	// EventBackendRecovered: the weight is set again after failures.
	EventBackendRecovered = "backend_recovered"
)

// GateBackend is the pseudo-gate that holds a step while the weight is not
// known to be in effect.
const GateBackend = "backend"

// DriftError is returned by a backend's SetWeight when it found the router
// at another weight than the one it had set last, and has set the weight it
// was given since: the change behind the controller's back is reported,
// not kept. The journal is the truth; operators change the weight with
// `cutover rollout set-weight`.
type DriftError struct {
	// Router names what drifted, e.g. `haproxy 127.0.0.1:9999 backend app`.
	Router string
	// Set is the weight the controller had set; Found what the router held.
	Set, Found float64
	// Detail is the router's own figures, e.g. "legacy 140, candidate 60".
	Detail string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("%s: weight changed behind the controller's back: found %g%% (%s), the controller had set %g%%; restored",
		e.Router, e.Found, e.Detail, e.Set)
}

// retry runs f up to attempts times, pausing between tries (pause, then
// twice that, ...), and returns its last error. A router that drops one
// connection must not cost a whole interval.
func retry(ctx context.Context, attempts int, pause time.Duration, f func() error) error {
	var err error
	for i := range attempts {
		if err = f(); err == nil {
			return nil
		}
		if i == attempts-1 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(pause << i):
		}
	}
	return fmt.Errorf("%w (after %d attempts)", err, attempts)
}

// counterWindow turns a router's running totals into a step's window: the
// totals when the window opened are subtracted. A router restarted since
// (its totals went down) starts the window anew. At weight 100 (full)
// legacy serves nothing but the few requests in flight at the change, and
// a front door shadows nothing: legacy's figure is then left at zero, and
// the controller judges the candidate against what legacy served at the
// step before (Measure.LegacyBaseline).
type counterWindow struct {
	id                string
	legacy, candidate Served
}

// measure returns the counts since window id opened, opening it (and
// returning nothing yet) when id is new.
func (w *counterWindow) measure(id string, legacy, candidate Served, full bool) Measure {
	reset := legacy.Requests < w.legacy.Requests || candidate.Requests < w.candidate.Requests ||
		legacy.Errors < w.legacy.Errors || candidate.Errors < w.candidate.Errors
	if id != w.id || reset {
		w.id, w.legacy, w.candidate = id, legacy, candidate
		return Measure{}
	}
	sub := func(a, b Served) Served {
		return Served{Requests: a.Requests - b.Requests, Errors: a.Errors - b.Errors}
	}
	m := Measure{Legacy: sub(legacy, w.legacy), Candidate: sub(candidate, w.candidate)}
	if full {
		m.Legacy = Served{}
	}
	return m
}
