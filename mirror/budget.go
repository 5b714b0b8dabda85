package mirror

import (
	"sync"
	"sync/atomic"

	"github.com/cutover/cutover/internal/upstream"
)

// budget is the global byte budget of bodies held for comparison by every
// request in flight: request bodies read ahead, the primary's and the
// shadow's answers. Memory then follows the budget, not the number of
// connections; a request that finds it spent is served all the same and
// counted as skipped ReasonBodyBudget.
type budget struct {
	left atomic.Int64
}

func newBudget(bytes int64) *budget {
	b := &budget{}
	b.left.Store(bytes)
	return b
}

// account is what one request took from the budget; the primary and the
// shadow take from it concurrently, and it is given back once, when the
// request is counted.
//
// A request is compared whole or not at all, so its two answers take
// together: the first to grow takes as much again for the other (which
// most often is as long), and the other draws on that first. Without it,
// two hundred requests at once would each get one side's bytes and none
// the other's, and nothing would be compared.
type account struct {
	b       *budget
	mu      sync.Mutex
	held    int64 // taken from the budget
	spare   int64 // of which taken for the other side, not used yet
	refused bool  // once refused, the request is not compared: take no more
}

var _ upstream.Budget = (*account)(nil)

func (b *budget) account() *account { return &account{b: b} }

func (b *budget) take(n int64) bool {
	if b.left.Add(-n) < 0 {
		b.left.Add(n)
		return false
	}
	return true
}

// Take reserves n bytes of an answer body, or reports that the budget
// cannot spare them.
func (a *account) Take(n int64) bool {
	if n <= 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.refused:
		return false
	case a.spare >= n:
		a.spare -= n
		return true
	}
	need := 2*n - a.spare
	if !a.b.take(need) {
		a.refused = true
		return false
	}
	a.held += need
	a.spare = n
	return true
}

// takeBody reserves n bytes of a request body, which only one side holds.
func (a *account) takeBody(n int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refused || !a.b.take(n) {
		a.refused = true
		return false
	}
	a.held += n
	return true
}

// release gives back everything the request took.
func (a *account) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.b.left.Add(a.held)
	a.held, a.spare = 0, 0
}
