package diff

import (
	"errors"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// encode serialises the histogram for the summary JSON; "" when empty.
func (l *latencyHist) encode() string {
	if l.n == 0 {
		return ""
	}
	return encodeHist(l.h)
}

func encodeHist(h *hdr.Histogram) string {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "" // cannot happen for a histogram made by newLatencyHist
	}
	return string(b)
}

// histJobs are histograms copied under the aggregator's lock (a copy of
// their counts is cheap) and encoded into a summary after it is released
// (compressing is not), so that Summary holds the lock no longer than
// before the summary carried histograms.
type histJobs []histJob

type histJob struct {
	snap *hdr.Snapshot
	dst  func(*Summary) *string
}

func (j *histJobs) add(l *latencyHist, dst func(*Summary) *string) {
	if l == nil || l.n == 0 {
		return
	}
	*j = append(*j, histJob{l.h.Export(), dst})
}

func (j histJobs) run(s *Summary) {
	for _, job := range j {
		*job.dst(s) = encodeHist(hdr.Import(job.snap))
	}
}

// merge adds o's values to l.
func (l *latencyHist) merge(o *latencyHist) {
	if o == nil || o.n == 0 {
		return
	}
	l.h.Merge(o.h)
	l.n += o.n
	l.sum += o.sum
	l.max = max(l.max, o.max)
}

// maxMergedHistBytes bounds an encoded histogram read from a summary.
const maxMergedHistBytes = 1 << 20

// decodeHist rebuilds a side's histogram from its Percentiles: the values
// from Hist, the exact maximum and mean from Max and Mean.
func decodeHist(p Percentiles) (*latencyHist, error) {
	if p.Count == 0 {
		return newLatencyHist(), nil
	}
	if p.Hist == "" {
		return nil, errors.New("latency has no histogram (written by an older version?)")
	}
	if len(p.Hist) > maxMergedHistBytes {
		return nil, fmt.Errorf("latency histogram of %d bytes, over %d", len(p.Hist), maxMergedHistBytes)
	}
	h, err := hdr.Decode([]byte(p.Hist))
	if err != nil {
		return nil, fmt.Errorf("latency histogram: %w", err)
	}
	l := newLatencyHist()
	l.h.Merge(h)
	l.n = h.TotalCount()
	l.max = time.Duration(p.Max * float64(time.Millisecond))
	l.sum = time.Duration(p.Mean * float64(p.Count) * float64(time.Millisecond))
	return l, nil
}

// decodeSeriesHist is decodeHist for a series interval, whose histogram
// has the series' precision.
func decodeSeriesHist(p IntervalLatency) (*latencyHist, error) {
	l := newSeriesHist()
	if p.Hist == "" {
		return l, nil
	}
	if len(p.Hist) > maxMergedHistBytes {
		return nil, fmt.Errorf("series histogram of %d bytes, over %d", len(p.Hist), maxMergedHistBytes)
	}
	h, err := hdr.Decode([]byte(p.Hist))
	if err != nil {
		return nil, fmt.Errorf("series histogram: %w", err)
	}
	l.h.Merge(h)
	l.n = h.TotalCount()
	l.max = time.Duration(p.Max * float64(time.Millisecond))
	return l, nil
}
