package rollout

import "context"

// Source measures a step: the evidence of the window windowID, summed over
// whatever it watches (a fleet of mirrors, a tap, Prometheus). The first
// call with a new windowID opens the window; later calls return what was
// seen since. A Source that cannot see part of what it watches says so in
// Measure.Missing rather than failing, while what answers is still a
// quorum; with no quorum it returns an error (the step is blind).
type Source interface {
	Measure(ctx context.Context, windowID string) (Measure, error)
}

var _ Source = (*Fleet)(nil)

// LatencyPairs are answer times (ms) of compared exchanges, both sides of
// the same request at the same index.
type LatencyPairs struct {
	Legacy    []float64 `json:"legacy"`
	Candidate []float64 `json:"candidate"`
}

// Len is the number of pairs.
func (p LatencyPairs) Len() int { return min(len(p.Legacy), len(p.Candidate)) }
