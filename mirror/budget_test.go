package mirror

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// eventually reports whether ok holds within a few seconds.
func eventually(ok func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if ok() {
			return true
		}
	}
	return false
}

// A request's bytes come back to the budget when the collector frees its
// buffers, not when the request is done: until then they are still
// resident, and handing them out again is what let memory pass the limit.
func TestBudgetWaitsForTheCollector(t *testing.T) {
	b := newBudget(1 << 20)
	first := b.account()
	held := first.Buffer(256 << 10) // takes as much again for the other side
	if held == nil || cap(held) != 256<<10 {
		t.Fatalf("first buffer: cap %d, want %d", cap(held), 256<<10)
	}
	other := first.Buffer(256 << 10)
	if other == nil {
		t.Fatal("the other side's buffer was refused: it was taken with the first")
	}
	if got := b.left.Load(); got != 512<<10 {
		t.Fatalf("left %d after one request of two 256 KiB answers, want %d", got, 512<<10)
	}
	first.release()
	if got := b.left.Load(); got != 512<<10 {
		t.Fatalf("left %d once the request is done with its buffers still held, want %d", got, 512<<10)
	}
	if got := b.garbage.Load(); got != 512<<10 {
		t.Fatalf("garbage %d once the request is done, want its two buffers' %d", got, 512<<10)
	}
	runtime.KeepAlive(held)
	runtime.KeepAlive(other)
	held, other = nil, nil
	runtime.GC()
	if !eventually(func() bool { return b.left.Load() == 1<<20 && b.garbage.Load() == 0 }) {
		t.Fatalf("left %d, garbage %d after the buffers were collected, want %d and 0", b.left.Load(), b.garbage.Load(), 1<<20)
	}
}

// A budget spent by garbage asks for a collection itself: a refused
// request is followed, without anyone calling runtime.GC, by one that
// fits.
func TestBudgetAsksForACollection(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection but the one asked for
	b := newBudget(1 << 20)
	for range 3 {
		a := b.account()
		if a.Buffer(256<<10) == nil {
			t.Fatal("refused with room left")
		}
		a.release()
	}
	if b.account().Buffer(256<<10) != nil {
		t.Fatalf("handed out 512 KiB more of a 1 MiB budget whose 768 KiB of garbage is not collected yet (left %d)", b.left.Load())
	}
	if !eventually(func() bool { return b.account().Buffer(256<<10) != nil }) {
		t.Fatalf("still refused: left %d, garbage %d", b.left.Load(), b.garbage.Load())
	}
}

// Growth garbage counts too: a body read into doubling buffers holds the
// smaller ones against the budget until they are collected.
func TestBudgetCountsOutgrownBuffers(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // none is collected meanwhile
	b := newBudget(1 << 20)
	a := b.account()
	for _, n := range []int{128 << 10, 256 << 10} {
		if a.requestBuffer(n) == nil {
			t.Fatalf("refused %d bytes", n)
		}
	}
	if got, want := b.left.Load(), int64(1<<20-384<<10); got != want {
		t.Errorf("left %d after buffers of 128 and 256 KiB, want %d", got, want)
	}
	if a.requestBuffer(1<<20) != nil {
		t.Error("handed out more than the budget")
	}
	if !a.refused {
		t.Error("a refused account takes no more")
	}
}
