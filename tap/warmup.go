package tap

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/diff"
)

// Without a secondary the tap knows nothing of legacy's noise until it has
// seen legacy answer the same request twice: exchanges recorded before
// that would count as different on legacy's own request ids and
// timestamps. So the first comparisons of a run are held, not recorded,
// until the first noise sample is learned, or warmupMax passes, or
// warmupHeld of them wait; then they are recorded with what was learned.
// Whether a difference is noise is decided when an exchange is recorded
// (diff.Aggregator.Record), which is what makes holding them enough.
const (
	warmupMax  = 5 * time.Second
	warmupHeld = 4096
)

// warmup holds the first comparisons of a run. Its zero value holds; one
// made done records at once.
type warmup struct {
	done  atomic.Bool
	mu    sync.Mutex
	until time.Time
	held  []*diff.Comparison
}

// hold keeps c and reports true while the warm-up lasts; false means the
// caller records c itself. record is called with what was held, in order,
// when c ends the warm-up.
func (w *warmup) hold(c *diff.Comparison, now time.Time, record func(*diff.Comparison)) bool {
	if w.done.Load() {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done.Load() {
		return false
	}
	if w.until.IsZero() {
		w.until = now.Add(warmupMax)
	}
	if now.Before(w.until) && len(w.held) < warmupHeld {
		w.held = append(w.held, c)
		return true
	}
	w.endLocked(record)
	return false
}

// end ends the warm-up: what was held is recorded. Later calls do nothing.
func (w *warmup) end(record func(*diff.Comparison)) {
	if w.done.Load() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLocked(record)
}

func (w *warmup) endLocked(record func(*diff.Comparison)) {
	if w.done.Load() {
		return
	}
	for _, c := range w.held {
		record(c)
	}
	w.held = nil
	w.done.Store(true)
}
