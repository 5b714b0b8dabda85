package mirror

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/diff"
)

// window is the part of a run a rollout step is judged on: its own
// comparison aggregate and its own served counts, of the requests routed
// from started on. A request counts in the window in force when it was
// routed, whenever it ends: a slow answer of the step before is never
// evidence of this one.
type window struct {
	id      string
	started time.Time
	agg     *windowAgg
	served  [2]windowServed
	pairs   pairRing
	// prev is the window before this one, which what was routed before
	// started still counts in; its own prev is dropped.
	prev *window
}

type windowServed struct {
	requests, errors atomic.Int64
}

// windowAgg is a window's aggregate. Add files an exchange in the window
// in force when its request was routed (ex.Time); skips and noise samples
// carry no time and go to the current window.
type windowAgg struct {
	*diff.Aggregator
	w *window
}

func (a *windowAgg) Add(ex *diff.Exchange) { a.Record(a.Compare(ex)) }

// Record files a compared exchange in the window in force when its request
// was routed: the run's comparison, recorded here too, not compared again.
func (a *windowAgg) Record(c *diff.Comparison) {
	ex := c.Exchange()
	w := a.w.owner(ex.Time)
	if w == nil {
		return // routed two windows ago: no step is judged on it any more
	}
	w.agg.Aggregator.Record(c)
	if !ex.Legacy.Failed() && !ex.Candidate.Failed() {
		w.pairs.add(ex.Legacy.Total, ex.Candidate.Total)
	}
}

// owner is the window that was in force at t: w, the one before, or nil.
func (w *window) owner(t time.Time) *window {
	switch {
	case t.IsZero() || !t.Before(w.started):
		return w
	case w.prev != nil && !t.Before(w.prev.started):
		return w.prev
	}
	return nil
}

// windows holds the current window. A rollout controller opens a new one
// (with an id of its choosing) when a step starts; a mirror that restarts
// comes back with an empty window and no id, which tells the controller
// that part of the step was not seen.
type windows struct {
	base Recorder
	mu   sync.Mutex // serialises rotations
	cur  atomic.Pointer[window]
}

func newWindows(base Recorder) *windows {
	w := &windows{base: base}
	w.cur.Store(newWindow("", time.Now(), base, nil))
	return w
}

func newWindow(id string, started time.Time, base Recorder, prev *window) *window {
	w := &window{id: id, started: started, prev: prev}
	w.agg = &windowAgg{Aggregator: base.Window(), w: w}
	return w
}

func (w *windows) rotate(id string) *window {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev := w.cur.Load()
	prev.prev = nil // two windows back is no step's evidence
	next := newWindow(id, time.Now(), w.base, prev)
	w.cur.Store(next)
	return next
}

func (w *windows) current() *window { return w.cur.Load() }

// observe counts a served answer in the window in force when its request
// was routed: its answer time back from now.
func (w *windows) observe(s side, a *diff.Response) {
	cur := w.cur.Load().owner(time.Now().Add(-a.Total))
	if cur == nil {
		return
	}
	cur.served[s].requests.Add(1)
	if a.IsError() {
		cur.served[s].errors.Add(1)
	}
}

// pairRing keeps the latest latency pairs of a window, numbered, so that
// a controller can read the ones it has not seen (GET /window?pairs_after=N)
// and judge a recent stretch of the step beside all of it.
type pairRing struct {
	mu     sync.Mutex
	seq    int64 // pairs added so far; the last one is number seq
	legacy [pairRingSize]float32
	cand   [pairRingSize]float32
}

const pairRingSize = 8192

func (r *pairRing) add(legacy, candidate time.Duration) {
	r.mu.Lock()
	i := r.seq % pairRingSize
	r.legacy[i], r.cand[i] = float32(ms(legacy)), float32(ms(candidate))
	r.seq++
	r.mu.Unlock()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// after returns the pairs numbered over n (at most the ring's size, the
// latest) and the number of the last.
func (r *pairRing) after(n int64) PairsReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	from := max(n, r.seq-pairRingSize, 0)
	p := PairsReport{Seq: r.seq, Legacy: make([]float64, 0, max(r.seq-from, 0)), Candidate: make([]float64, 0, max(r.seq-from, 0))}
	for i := from; i < r.seq; i++ {
		j := i % pairRingSize
		p.Legacy = append(p.Legacy, float64(r.legacy[j]))
		p.Candidate = append(p.Candidate, float64(r.cand[j]))
	}
	return p
}

// WindowReport is what GET /window answers.
type WindowReport struct {
	ID      string                  `json:"id"`
	Started time.Time               `json:"started"`
	Served  map[string]ServedCounts `json:"served"`
	Summary diff.Summary            `json:"summary"`
	// Pairs, with ?pairs_after=N, are the answer times (ms) of the
	// exchanges compared after the N-th of the window, both sides of one
	// request at one index.
	Pairs *PairsReport `json:"pairs,omitempty"`
}

// PairsReport is a run of latency pairs; Seq numbers the last.
type PairsReport struct {
	Seq       int64     `json:"seq"`
	Legacy    []float64 `json:"legacy_ms"`
	Candidate []float64 `json:"candidate_ms"`
}

// ServedCounts are one side's served requests and errors (5xx or no answer).
type ServedCounts struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
}

func (w *window) report() WindowReport {
	counts := func(s side) ServedCounts {
		return ServedCounts{Requests: w.served[s].requests.Load(), Errors: w.served[s].errors.Load()}
	}
	return WindowReport{
		ID: w.id, Started: w.started,
		Served:  map[string]ServedCounts{"legacy": counts(sideLegacy), "candidate": counts(sideCandidate)},
		Summary: w.agg.Summary("mirror"),
	}
}
