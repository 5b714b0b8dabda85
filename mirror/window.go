package mirror

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/diff"
)

// window is the part of a run a rollout step is judged on: its own
// comparison aggregate and its own served counts, from Started on.
type window struct {
	id      string
	started time.Time
	agg     *diff.Aggregator
	served  [2]windowServed
}

type windowServed struct {
	requests, errors atomic.Int64
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
	w.cur.Store(&window{started: time.Now(), agg: base.Window()})
	return w
}

func (w *windows) rotate(id string) *window {
	w.mu.Lock()
	defer w.mu.Unlock()
	next := &window{id: id, started: time.Now(), agg: w.base.Window()}
	w.cur.Store(next)
	return next
}

func (w *windows) current() *window { return w.cur.Load() }

func (w *windows) observe(s side, a *diff.Response) {
	cur := w.cur.Load()
	cur.served[s].requests.Add(1)
	if a.Failed() || a.Status >= 500 {
		cur.served[s].errors.Add(1)
	}
}

// WindowReport is what GET /window answers.
type WindowReport struct {
	ID      string                  `json:"id"`
	Started time.Time               `json:"started"`
	Served  map[string]ServedCounts `json:"served"`
	Summary diff.Summary            `json:"summary"`
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
