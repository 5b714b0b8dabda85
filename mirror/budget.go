package mirror

import (
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
type account struct {
	b    *budget
	held atomic.Int64
}

var _ upstream.Budget = (*account)(nil)

func (b *budget) account() *account { return &account{b: b} }

// Take reserves n bytes, or reports that the budget cannot spare them.
func (a *account) Take(n int64) bool {
	if n <= 0 {
		return true
	}
	if a.b.left.Add(-n) < 0 {
		a.b.left.Add(n)
		return false
	}
	a.held.Add(n)
	return true
}

// release gives back everything the request took.
func (a *account) release() { a.b.left.Add(a.held.Swap(0)) }
