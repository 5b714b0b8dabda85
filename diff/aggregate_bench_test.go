package diff

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// loadFixture is a pool of exchanges over 50 endpoints whose comparisons
// are precomputed: the status selects the differences, so that what is
// measured is the aggregator, not a comparer.
type loadFixture struct {
	exchanges []Exchange
	diffs     [][]Difference
}

func newLoadFixture() *loadFixture {
	f := &loadFixture{}
	for v := range 8 {
		var ds []Difference
		for p := range v % 4 {
			ds = append(ds, Difference{Path: fmt.Sprintf("body.f%d", p+v), Kind: KindChanged,
				Legacy: fmt.Sprint(v), Candidate: fmt.Sprint(v + 1)})
		}
		f.diffs = append(f.diffs, ds)
	}
	for i := range 1000 {
		ms := time.Duration(1000+i%977) * time.Microsecond
		f.exchanges = append(f.exchanges, Exchange{
			Request:   Request{Method: "GET", URI: fmt.Sprintf("/api/e%d/items?page=%d", i%50, i)},
			Legacy:    &Response{Status: 0, Total: ms, TTFB: ms / 2},
			Candidate: &Response{Status: i % 8, Total: ms + time.Duration(i%13)*time.Microsecond, TTFB: ms / 2},
		})
	}
	return f
}

func (f *loadFixture) compare(_, candidate *Response) []Difference { return f.diffs[candidate.Status] }

func (f *loadFixture) aggregator() *Aggregator {
	return NewAggregator(AggregatorConfig{Compare: f.compare})
}

// heapAfter returns the live heap an aggregator holds after n Adds.
func heapAfter(f *loadFixture, n int) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a := f.aggregator()
	for i := range n {
		a.Add(&f.exchanges[i%len(f.exchanges)])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(a)
	return after.HeapAlloc - before.HeapAlloc
}

// TestAggregatorMemoryFlat checks that the aggregate's memory stays flat
// with the number of exchanges: 10^6 Adds may hold at most 1.5 times what
// 10^4 hold. Not parallel: the heap must be the aggregator's alone. With
// -short it stops at 10^5.
func TestAggregatorMemoryFlat(t *testing.T) {
	f := newLoadFixture()
	sizes := []int{10_000, 100_000, 1_000_000}
	if testing.Short() {
		sizes = sizes[:2]
	}
	base := heapAfter(f, sizes[0])
	t.Logf("%d exchanges: %d KB", sizes[0], base/1024)
	for _, n := range sizes[1:] {
		got := heapAfter(f, n)
		t.Logf("%d exchanges: %d KB (%.2fx)", n, got/1024, float64(got)/float64(base))
		if float64(got) > 1.5*float64(base) {
			t.Errorf("%d exchanges hold %d KB, more than 1.5 times the %d KB of %d", n, got/1024, base/1024, sizes[0])
		}
	}
}

func BenchmarkAggregatorAdd(b *testing.B) {
	f := newLoadFixture()
	a := f.aggregator()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.Add(&f.exchanges[i%len(f.exchanges)])
		i++
	}
}

func BenchmarkAggregatorAddParallel(b *testing.B) {
	f := newLoadFixture()
	a := f.aggregator()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a.Add(&f.exchanges[i%len(f.exchanges)])
			i++
		}
	})
}

func BenchmarkAggregatorSummary(b *testing.B) {
	f := newLoadFixture()
	a := f.aggregator()
	for i := range 200_000 {
		a.Add(&f.exchanges[i%len(f.exchanges)])
	}
	for b.Loop() {
		a.Summary("mirror")
	}
}

// BenchmarkAggregatorAddCompare adds exchanges with JSON bodies through
// the package's Comparer, as sources do: comparison dominates.
func BenchmarkAggregatorAddCompare(b *testing.B) {
	a := NewAggregator(AggregatorConfig{})
	header := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r1"}}
	legacy := &Response{Status: 200, Header: header, Total: time.Millisecond,
		Body: []byte(`{"id":7,"name":"widget","price":10.5,"tags":["a","b"],"stock":{"warehouse":3,"store":1}}`)}
	candidate := &Response{Status: 200, Header: header, Total: time.Millisecond,
		Body: []byte(`{"id":7,"name":"widget","price":10.75,"tags":["a","b"],"stock":{"warehouse":3,"store":1}}`)}
	ex := &Exchange{Request: Request{Method: "GET", URI: "/api/items/7"}, Legacy: legacy, Candidate: candidate}
	b.ReportAllocs()
	for b.Loop() {
		a.Add(ex)
	}
}
