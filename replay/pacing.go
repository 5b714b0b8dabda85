package replay

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cutover/cutover/diff"
)

// schedule maps capture time to send time: open-loop, so a slow target
// never moves it; only the rate cap can push a send later.
type schedule struct {
	speed    float64 // 0: as fast as possible
	interval time.Duration
	start    time.Time // wall time of the first send
	first    time.Time // capture time of the first request
	last     time.Time // the last send time given out
}

func newSchedule(speed, rate float64) *schedule {
	s := &schedule{speed: speed}
	if rate > 0 {
		s.interval = time.Duration(float64(time.Second) / rate)
	}
	return s
}

// at returns when a request captured at t is due.
func (s *schedule) at(t time.Time, now time.Time) time.Time {
	if s.start.IsZero() {
		s.start, s.first = now, t
	}
	due := now
	if s.speed > 0 {
		due = s.start.Add(time.Duration(float64(t.Sub(s.first)) / s.speed))
	}
	if s.interval > 0 && !s.last.IsZero() && due.Before(s.last.Add(s.interval)) {
		due = s.last.Add(s.interval)
	}
	s.last = due
	return due
}

// lateness records how late requests were sent against their schedule,
// in microseconds, with bounded memory.
type lateness struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newLateness() *lateness {
	return &lateness{h: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)}
}

func (l *lateness) add(d time.Duration) {
	us := max(int64(d/time.Microsecond), 1)
	l.mu.Lock()
	l.h.RecordValue(us)
	l.mu.Unlock()
}

// percentiles is the summary JSON's pacing_ms.
func (l *lateness) percentiles() *diff.Percentiles {
	l.mu.Lock()
	defer l.mu.Unlock()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return &diff.Percentiles{
		P50: ms(l.h.ValueAtQuantile(50)), P90: ms(l.h.ValueAtQuantile(90)),
		P99: ms(l.h.ValueAtQuantile(99)), Max: ms(l.h.Max()), Mean: l.h.Mean() / 1000,
		Count: l.h.TotalCount(),
	}
}
