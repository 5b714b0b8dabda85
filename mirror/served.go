package mirror

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cutover/cutover/diff"
)

// sideStats measures the traffic one side served to clients: what the
// rollout gates judge. Counters are cumulative since start; a reader that
// wants a window takes two snapshots and subtracts, so any number of
// readers can window as they like.
type sideStats struct {
	mu        sync.Mutex
	requests  int64
	errors    int64 // 5xx answers and transport failures
	transport int64 // of which no HTTP answer
	latency   *hdrhistogram.Histogram
}

// Latency is recorded in microseconds from 1µs to 10 minutes, 3 digits.
func newSideStats() *sideStats {
	return &sideStats{latency: hdrhistogram.New(1, int64(10*time.Minute/time.Microsecond), 3)}
}

func (s *sideStats) observe(a *diff.Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if a.Failed() {
		s.transport++
		s.errors++
	} else if a.IsError() { // a 5xx, or a gRPC error status
		s.errors++
	}
	s.latency.RecordValue(max(a.Total.Microseconds(), 1))
}

// SideSnapshot is one side's served traffic so far.
type SideSnapshot struct {
	Requests        int64   `json:"requests"`
	Errors          int64   `json:"errors"`
	TransportErrors int64   `json:"transport_errors"`
	LatencyMs       Latency `json:"latency_ms"`
}

// Latency is a few percentiles, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func (s *sideStats) snapshot() SideSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	top := float64(s.latency.Max()) / 1000
	// No percentile above the maximum, whatever the histogram's buckets.
	ms := func(us int64) float64 { return min(float64(us)/1000, top) }
	return SideSnapshot{
		Requests:        s.requests,
		Errors:          s.errors,
		TransportErrors: s.transport,
		LatencyMs: Latency{
			P50: ms(s.latency.ValueAtQuantile(50)),
			P90: ms(s.latency.ValueAtQuantile(90)),
			P99: ms(s.latency.ValueAtQuantile(99)),
			Max: top,
		},
	}
}
