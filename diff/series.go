package diff

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The time series shows when things happened: per interval, exchanges,
// differences, server errors per side, latency per side and the weight.
// It is bounded: when a run outgrows SeriesPoints intervals, neighbouring
// intervals are merged and the interval doubles, so a long run keeps its
// whole span at a coarser grain.

// The series' defaults, for AggregatorConfig.SeriesInterval and SeriesPoints.
const (
	defaultSeriesInterval = 10 * time.Second
	defaultSeriesPoints   = 360
	// seriesDigits keeps each interval's histogram near 4 KB (6% precision).
	seriesDigits = 1
)

// Series is the run's time series in the summary JSON.
type Series struct {
	IntervalS float64       `json:"interval_s"`
	Points    []SeriesPoint `json:"points"`
}

// SeriesPoint is one interval from Start. Exchanges are those added
// (compared and failed; skipped requests carry no time); Weight is the
// candidate's share (percent) last seen in the interval, when the source
// splits traffic.
type SeriesPoint struct {
	Start     time.Time     `json:"start"`
	Exchanges int64         `json:"exchanges"`
	Compared  int64         `json:"compared"`
	Different int64         `json:"different"`
	Failed    int64         `json:"failed"`
	Status5xx Sides         `json:"status_5xx"`
	LatencyMs SeriesLatency `json:"latency_ms"`
	Weight    *float64      `json:"weight,omitempty"`
}

// Sides is a count per side.
type Sides struct {
	Legacy    int64 `json:"legacy"`
	Candidate int64 `json:"candidate"`
}

// SeriesLatency is one interval's answer times per side.
type SeriesLatency struct {
	Legacy    IntervalLatency `json:"legacy"`
	Candidate IntervalLatency `json:"candidate"`
}

// IntervalLatency is p50, p99 and max (ms) of an interval, with the
// histogram they come from (see Percentiles.Hist) for merging.
type IntervalLatency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Hist string  `json:"hist,omitempty"`
}

// series is the aggregator's state of the time series.
type series struct {
	interval time.Duration
	limit    int
	origin   time.Time
	points   []*seriesPoint
}

type seriesPoint struct {
	exchanges, compared, different, failed int64
	l5xx, c5xx                             int64
	weight                                 float64
	legacy, candidate                      *latencyHist
}

func newSeries(interval time.Duration, limit int) *series {
	if interval <= 0 {
		interval = defaultSeriesInterval
	}
	if limit <= 1 {
		limit = defaultSeriesPoints
	}
	return &series{interval: interval, limit: limit}
}

func newSeriesHist() *latencyHist {
	return &latencyHist{h: hdr.New(1, histMaxMicros, seriesDigits)}
}

// at returns the point of t, coarsening the series when t is past its end.
// An exchange older than the first one counts in the first interval.
func (s *series) at(t time.Time) *seriesPoint {
	if s.origin.IsZero() {
		s.origin = t.Truncate(s.interval)
	}
	i := max(0, int(t.Sub(s.origin)/s.interval))
	for i >= s.limit {
		s.coarsen()
		i = max(0, int(t.Sub(s.origin)/s.interval))
	}
	for len(s.points) <= i {
		s.points = append(s.points, nil)
	}
	if s.points[i] == nil {
		s.points[i] = &seriesPoint{legacy: newSeriesHist(), candidate: newSeriesHist()}
	}
	return s.points[i]
}

// coarsen merges each pair of intervals into one of twice the length.
func (s *series) coarsen() {
	s.interval *= 2
	merged := make([]*seriesPoint, (len(s.points)+1)/2)
	for i, p := range s.points {
		if p == nil {
			continue
		}
		if m := merged[i/2]; m == nil {
			merged[i/2] = p
		} else {
			m.merge(p)
		}
	}
	s.points = merged
}

func (p *seriesPoint) merge(o *seriesPoint) {
	p.exchanges += o.exchanges
	p.compared += o.compared
	p.different += o.different
	p.failed += o.failed
	p.l5xx += o.l5xx
	p.c5xx += o.c5xx
	p.weight = o.weight // o is the later interval
	p.legacy.merge(o.legacy)
	p.candidate.merge(o.candidate)
}

// snapshot renders the series; weighted says whether to show the weight.
// The histograms are exported into jobs, encoded once the lock is released.
func (s *series) snapshot(weighted bool, jobs *histJobs) *Series {
	if s == nil || len(s.points) == 0 {
		return nil
	}
	out := &Series{IntervalS: s.interval.Seconds(), Points: make([]SeriesPoint, 0, len(s.points))}
	for i, p := range s.points {
		pt := SeriesPoint{Start: s.origin.Add(time.Duration(i) * s.interval).UTC()}
		if p != nil {
			pt.Exchanges, pt.Compared, pt.Different, pt.Failed = p.exchanges, p.compared, p.different, p.failed
			pt.Status5xx = Sides{p.l5xx, p.c5xx}
			pt.LatencyMs = SeriesLatency{p.legacy.interval(), p.candidate.interval()}
			i := len(out.Points)
			jobs.add(p.legacy, func(s *Summary) *string { return &s.Series.Points[i].LatencyMs.Legacy.Hist })
			jobs.add(p.candidate, func(s *Summary) *string { return &s.Series.Points[i].LatencyMs.Candidate.Hist })
			if weighted {
				w := p.weight
				pt.Weight = &w
			}
		}
		out.Points = append(out.Points, pt)
	}
	return out
}

// interval renders a series histogram, without its encoding.
func (l *latencyHist) interval() IntervalLatency {
	if l.n == 0 {
		return IntervalLatency{}
	}
	p := l.percentiles()
	return IntervalLatency{P50: p.P50, P99: p.P99, Max: p.Max}
}
