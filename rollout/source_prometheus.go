package rollout

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/mirror"
)

// PrometheusSource measures a step from one Prometheus that scrapes every
// mirror of the fleet (mirror/metrics.go), instead of polling each admin
// API: the counts are the fleet's sums of increase() over the step's
// window, and the latency verdict is the diff engine's test on samples
// rebuilt from the summed compared-latency histograms.
//
// A window opens when Measure first sees its id and counts from then: a
// controller restarted mid-step counts the step anew.
type PrometheusSource struct {
	// URL is the Prometheus base URL.
	URL string
	// Selector narrows every metric to the fleet, e.g. `job="edge"` [none].
	Selector string
	// Now is the clock [time.Now].
	Now func() time.Time

	q      Prometheus
	mu     sync.Mutex
	opened map[string]time.Time
}

// latencySamples caps the rebuilt samples per side, as the diff engine's
// reservoir does (diff.AggregatorConfig.ReservoirSize's default).
const latencySamples = 2000

func (s *PrometheusSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Check asks Prometheus whether it scrapes any mirror at all.
func (s *PrometheusSource) Check(ctx context.Context) error {
	v, err := s.query(ctx, fmt.Sprintf("count(%s%s)", mirror.MetricExchanges, s.match()), s.now())
	if err != nil {
		return err
	}
	if vals, _ := samples(v); len(vals) == 0 {
		return fmt.Errorf("prometheus %s: no %s series: it scrapes no mirror's /metrics", s.URL, mirror.MetricExchanges)
	}
	return nil
}

func (s *PrometheusSource) match() string {
	if s.Selector == "" {
		return ""
	}
	return "{" + s.Selector + "}"
}

func (s *PrometheusSource) query(ctx context.Context, q string, at time.Time) (model.Value, error) {
	a, err := s.q.api(s.URL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, _, _, err := a.Query(ctx, q, at, promv1.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %s: %w", s.URL, q, err)
	}
	return v, nil
}

// Measure sums the fleet's counts over window id.
func (s *PrometheusSource) Measure(ctx context.Context, id string) (Measure, error) {
	now := s.now()
	s.mu.Lock()
	if s.opened == nil {
		s.opened = map[string]time.Time{}
	}
	start, ok := s.opened[id]
	if !ok {
		s.opened = map[string]time.Time{id: now} // one window at a time
	}
	s.mu.Unlock()
	m := Measure{Endpoints: map[string]EndpointCounts{}}
	m.Counts.Skipped = map[string]int64{}
	if !ok {
		return m, nil
	}
	secs := max(1, int64(now.Sub(start)/time.Second))
	by := func(metric, label string) (map[string]int64, error) {
		q := fmt.Sprintf("sum by (%s) (increase(%s%s[%ds]))", label, metric, s.match(), secs)
		if label == "" {
			q = fmt.Sprintf("sum(increase(%s%s[%ds]))", metric, s.match(), secs)
		}
		v, err := s.query(ctx, q, now)
		if err != nil {
			return nil, err
		}
		out := map[string]int64{}
		if vec, ok := v.(model.Vector); ok {
			for _, smp := range vec {
				if f := float64(smp.Value); !math.IsNaN(f) {
					out[string(smp.Metric[model.LabelName(label)])] += int64(math.Round(f))
				}
			}
		}
		return out, nil
	}
	var err error
	var requests, errs, compared, different, failed, skipped, exchanges map[string]int64
	for _, f := range []struct {
		dst           *map[string]int64
		metric, label string
	}{
		{&requests, mirror.MetricRequests, "side"}, {&errs, mirror.MetricErrors, "side"},
		{&compared, mirror.MetricCompared, "endpoint"}, {&different, mirror.MetricDifferent, "endpoint"},
		{&failed, mirror.MetricFailed, "side"}, {&skipped, mirror.MetricSkipped, "reason"},
		{&exchanges, mirror.MetricExchanges, ""},
	} {
		if *f.dst, err = by(f.metric, f.label); err != nil {
			return Measure{}, err
		}
	}
	m.Legacy = Served{Requests: requests["legacy"], Errors: errs["legacy"]}
	m.Candidate = Served{Requests: requests["candidate"], Errors: errs["candidate"]}
	m.Counts.Requests = exchanges[""]
	m.Counts.Failed.Legacy, m.Counts.Failed.Candidate, m.Counts.Failed.Both = failed["legacy"], failed["candidate"], failed["both"]
	for reason, n := range skipped {
		if n > 0 {
			m.Counts.Skipped[reason] = n
		}
	}
	for ep, n := range compared {
		m.Endpoints[ep] = EndpointCounts{Compared: n, Different: different[ep]}
		m.Counts.Compared += n
		m.Counts.Different += different[ep]
	}
	v, err := s.query(ctx, fmt.Sprintf("sum by (side, le) (increase(%s_bucket%s[%ds]))", mirror.MetricComparedLatency, s.match(), secs), now)
	if err != nil {
		return Measure{}, err
	}
	legacy, candidate := histogramSamples(v, "legacy"), histogramSamples(v, "candidate")
	m.Latency = []diff.LatencyVerdict{diff.JudgeLatency(legacy, candidate, diff.LatencyConfig{})}
	return m, nil
}

// histogramSamples rebuilds up to latencySamples latencies (ms) of one side
// from its cumulative buckets, spread evenly (in log scale) inside each
// bucket so that equal histograms give equal samples and no false ties.
func histogramSamples(v model.Value, side string) []float64 {
	vec, _ := v.(model.Vector)
	type bucket struct{ le, cum float64 }
	var bs []bucket
	for _, smp := range vec {
		if string(smp.Metric["side"]) != side {
			continue
		}
		le, err := strconv.ParseFloat(string(smp.Metric["le"]), 64)
		if err != nil || math.IsNaN(float64(smp.Value)) {
			continue
		}
		bs = append(bs, bucket{le, float64(smp.Value)})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	if len(bs) == 0 {
		return nil
	}
	total := math.Round(bs[len(bs)-1].cum)
	if total <= 0 {
		return nil
	}
	scale := math.Min(1, latencySamples/total)
	ratio := math.Pow(2, 0.25)
	var out []float64
	prevCum, carry := 0.0, 0.0
	for i, b := range bs {
		c := math.Max(0, b.cum-prevCum)*scale + carry
		prevCum = math.Max(prevCum, b.cum)
		n := int(math.Floor(c + 1e-9))
		carry = c - float64(n)
		lo, hi := b.le/ratio, b.le
		if i > 0 {
			lo = bs[i-1].le
		}
		if math.IsInf(hi, 1) {
			lo = bs[max(0, i-1)].le
			hi = lo * ratio
		}
		for k := range n {
			out = append(out, 1000*lo*math.Pow(hi/lo, (float64(k)+0.5)/float64(n)))
		}
	}
	return out
}
