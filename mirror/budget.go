package mirror

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/internal/upstream"
)

// budget is the global byte budget of body buffers held for comparison:
// request bodies read ahead, the primary's and the shadow's answers.
// Memory then follows the budget, not the number of connections; a request
// that finds it spent is served all the same and counted as skipped
// ReasonBodyBudget.
//
// A buffer's bytes come back when the collector frees the buffer, not when
// its request is done. Given back at once, they let new bodies be read
// while the old ones were still resident: on a busy CPU, where the
// collector is held to half of it, a mirror limited to 128 MiB peaked at
// 169 MiB with a 48 MiB budget.
type budget struct {
	size int64
	left atomic.Int64

	// garbage is the bytes of buffers whose requests are done and which
	// the collector has not freed yet. A refused take asks for a
	// collection when it is an eighth of the budget or more: the
	// collector's own pace (GOGC) may be far off, and a budget that waits
	// on it compares nothing meanwhile.
	garbage    atomic.Int64
	collecting atomic.Bool
}

func newBudget(bytes int64) *budget {
	b := &budget{size: bytes}
	b.left.Store(bytes)
	return b
}

// account is what one request takes from the budget; the primary and the
// shadow take from it concurrently.
//
// A request is compared whole or not at all, so its two answers take
// together: the first to ask takes as much again for the other (which
// most often is as long), and the other draws on that first. Without it,
// two hundred requests at once would each get one side's bytes and none
// the other's, and nothing would be compared.
type account struct {
	b       *budget
	mu      sync.Mutex
	live    int64 // in buffers handed out and not collected yet
	spare   int64 // taken for the other side, not handed out yet
	done    bool  // released: its live buffers are garbage
	refused bool  // once refused, the request is not compared: take no more
}

var _ upstream.Budget = (*account)(nil)

func (b *budget) account() *account { return &account{b: b} }

func (b *budget) take(n int64) bool {
	if b.left.Add(-n) >= 0 {
		return true
	}
	b.left.Add(n)
	if b.garbage.Load() >= b.size/8 && b.collecting.CompareAndSwap(false, true) {
		go b.collect()
	}
	return false
}

// collect runs one collection and then waits as long again before the
// next may be asked for, so that forced collections take at most half of
// the time, however much garbage stays uncollected.
func (b *budget) collect() {
	start := time.Now()
	runtime.GC()
	time.Sleep(time.Since(start))
	b.collecting.Store(false)
}

// freed is a buffer's bytes, given back when it is collected.
type freed struct {
	a *account
	n int64
}

func (f freed) give() {
	a := f.a
	a.mu.Lock()
	defer a.mu.Unlock()
	a.live -= f.n
	if a.done {
		a.b.garbage.Add(-f.n)
	}
	a.b.left.Add(f.n)
}

// buffer is an empty buffer of capacity n whose bytes go back to the
// budget once the collector has freed it. a.mu is held.
func (a *account) buffer(n int) []byte {
	// Under 16 bytes Go may pack the buffer with other small objects,
	// whose lives would then hold back its cleanup.
	buf := make([]byte, 0, max(n, 16))
	a.live += int64(n)
	if a.done { // handed out after its request was counted: garbage once dropped
		a.b.garbage.Add(int64(n))
	}
	runtime.AddCleanup(&buf[:1][0], freed.give, freed{a, int64(n)})
	return buf
}

// Buffer hands out an empty buffer of capacity n for an answer body, or
// nil when the budget cannot spare n bytes.
func (a *account) Buffer(n int) []byte {
	if n <= 0 {
		return []byte{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.refused:
		return nil
	case a.spare >= int64(n):
		a.spare -= int64(n)
	default:
		need := 2*int64(n) - a.spare
		if !a.b.take(need) {
			a.refused = true
			return nil
		}
		a.spare = int64(n)
	}
	return a.buffer(n)
}

// requestBuffer hands out a buffer of capacity n for a request body, which
// only one side holds, or nil when the budget cannot spare n bytes.
func (a *account) requestBuffer(n int) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refused || !a.b.take(int64(n)) {
		a.refused = true
		return nil
	}
	return a.buffer(n)
}

// release is called once, when the request is counted: what was taken for
// a side that never asked goes back now, the buffers handed out when they
// are collected.
func (a *account) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.done = true
	a.b.left.Add(a.spare)
	a.b.garbage.Add(a.live)
	a.spare = 0
}
