package rollout

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/cutover/cutover/diff"
)

// PrometheusSource measures a step from one Prometheus that scrapes every
// mirror of the fleet (mirror/metrics.go), or every tap (tap/admin.go),
// instead of polling each admin API. At each look it reads every
// exporter's counters and subtracts what each series held when the window
// opened (a series that went down, its exporter restarted, counts from 0
// again), so the counts are the fleet's
// exact sums as of the last scrape; the latency verdict is the diff
// engine's test on samples rebuilt from the summed compared-latency
// histograms, and the pairs of each interval are rebuilt the same way.
//
// A window opens when Measure first sees its id: a controller restarted
// mid-step counts the step anew.
type PrometheusSource struct {
	// URL is the Prometheus base URL.
	URL string
	// Selector narrows every series to the fleet, e.g. `job="edge"` [none].
	Selector string
	// Series are the names it reads [found by Check: a mirror's or a tap's,
	// whichever the Prometheus scrapes].
	Series *PromSeries
	// Now is the clock [time.Now].
	Now func() time.Time

	q   Prometheus
	mu  sync.Mutex
	win *promWindow
	// found are the series Check found, when Series is nil.
	detecting sync.Mutex
	found     *PromSeries
}

var _ Source = (*PrometheusSource)(nil)

// promWindow is one open window: each series' value when it opened, and
// at the previous look (for the interval's pairs).
type promWindow struct {
	id         string
	base, prev map[string]float64
	rng        *rand.Rand
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

// Check asks Prometheus whether it scrapes any mirror or tap at all, and
// which of the two when Series is not set.
func (s *PrometheusSource) Check(ctx context.Context) error {
	_, err := s.names(ctx)
	return err
}

// names are the series to read: Series, or those Check finds (once; a
// failed detection is tried again at the next call).
func (s *PrometheusSource) names(ctx context.Context) (PromSeries, error) {
	if s.Series != nil {
		return *s.Series, nil
	}
	s.detecting.Lock()
	defer s.detecting.Unlock()
	if s.found == nil {
		k, err := s.detectSeries(ctx)
		if err != nil {
			return PromSeries{}, err
		}
		s.found = &k
	}
	return *s.found, nil
}

// match is the selector of the series, with more matchers.
func (s *PrometheusSource) match(more string) string {
	parts := []string{}
	for _, p := range []string{s.Selector, more} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
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

// series reads every series the measure is made of.
func (s *PrometheusSource) series(ctx context.Context, names PromSeries, at time.Time) (model.Vector, error) {
	q := s.match(fmt.Sprintf(`__name__=~"%s"`, strings.Join(names.names(), "|")))
	v, err := s.query(ctx, q, at)
	if err != nil {
		return nil, err
	}
	vec, _ := v.(model.Vector)
	return vec, nil
}

// Measure sums the fleet's counts over window id.
func (s *PrometheusSource) Measure(ctx context.Context, id string) (Measure, error) {
	ps, err := s.names(ctx)
	if err != nil {
		return Measure{}, err
	}
	vec, err := s.series(ctx, ps, s.now())
	if err != nil {
		return Measure{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := Measure{Endpoints: map[string]EndpointCounts{}}
	m.Counts.Skipped = map[string]int64{}
	if s.win == nil || s.win.id != id {
		w := &promWindow{id: id, base: map[string]float64{}, prev: map[string]float64{}, rng: rand.New(rand.NewPCG(7, 11))}
		for _, smp := range vec {
			w.base[smp.Metric.String()] = float64(smp.Value)
		}
		w.prev = w.base
		s.win = w
		return m, nil
	}
	w := s.win
	step := map[string]map[string]float64{} // metric name -> label value -> count
	add := func(name, label string, v float64) {
		if step[name] == nil {
			step[name] = map[string]float64{}
		}
		step[name][label] += v
	}
	type bucketKey struct{ side, le string }
	stepBuckets, lookBuckets := map[bucketKey]float64{}, map[bucketKey]float64{}
	instances, latencySeries := map[string]bool{}, false
	prev := map[string]float64{}
	for _, smp := range vec {
		key, v := smp.Metric.String(), float64(smp.Value)
		if math.IsNaN(v) {
			continue
		}
		base, last := w.base[key], w.prev[key]
		if v < base { // the mirror restarted: its counter began at 0
			base, w.base[key] = 0, 0
		}
		if v < last {
			last = 0
		}
		prev[key] = v
		instances[string(smp.Metric["instance"])] = true
		name := string(smp.Metric[model.MetricNameLabel])
		switch name {
		case ps.ComparedLatency + "_bucket":
			latencySeries = true
			k := bucketKey{string(smp.Metric["side"]), string(smp.Metric["le"])}
			stepBuckets[k] += v - base
			lookBuckets[k] += v - last
		case ps.Requests, ps.Errors, ps.Failed:
			add(name, string(smp.Metric["side"]), v-base)
		case ps.Compared, ps.Different:
			add(name, string(smp.Metric["endpoint"]), v-base)
		case ps.Skipped:
			add(name, string(smp.Metric["reason"]), v-base)
		default:
			add(name, "", v-base)
		}
	}
	w.prev = prev
	n := func(name, label string) int64 { return int64(math.Round(step[name][label])) }
	m.Answered = len(instances)
	m.Legacy = Served{Requests: n(ps.Requests, "legacy"), Errors: n(ps.Errors, "legacy")}
	m.Candidate = Served{Requests: n(ps.Requests, "candidate"), Errors: n(ps.Errors, "candidate")}
	m.Counts.Requests = n(ps.Exchanges, "")
	m.Counts.Failed.Legacy, m.Counts.Failed.Candidate, m.Counts.Failed.Both = n(ps.Failed, "legacy"), n(ps.Failed, "candidate"), n(ps.Failed, "both")
	for reason := range step[ps.Skipped] {
		if c := n(ps.Skipped, reason); c > 0 {
			m.Counts.Skipped[reason] = c
		}
	}
	for ep := range step[ps.Compared] {
		c, d := n(ps.Compared, ep), n(ps.Different, ep)
		m.Endpoints[ep] = EndpointCounts{Compared: c, Different: d}
		m.Counts.Compared += c
		m.Counts.Different += d
	}
	toVector := func(b map[bucketKey]float64) model.Vector {
		var out model.Vector
		for k, v := range b {
			out = append(out, &model.Sample{Metric: model.Metric{"side": model.LabelValue(k.side), "le": model.LabelValue(k.le)}, Value: model.SampleValue(v)})
		}
		return out
	}
	if ps.LatencyOptional && !latencySeries {
		m.Latency = []diff.LatencyVerdict{{Status: diff.LatencyNotComparable,
			Reason: fmt.Sprintf("not judged: no %s exports %s (a tap does with a secondary)", ps.Kind, ps.ComparedLatency)}}
		return m, nil
	}
	legacy, candidate := histogramSamples(toVector(stepBuckets), "legacy"), histogramSamples(toVector(stepBuckets), "candidate")
	m.Latency = []diff.LatencyVerdict{diff.JudgeLatency(legacy, candidate, diff.LatencyConfig{})}
	// The interval's pairs: both sides rebuilt, in random order, so that
	// whatever part of them the controller keeps is a uniform sample.
	pl, pc := histogramSamples(toVector(lookBuckets), "legacy"), histogramSamples(toVector(lookBuckets), "candidate")
	k := min(len(pl), len(pc))
	w.rng.Shuffle(len(pl), func(i, j int) { pl[i], pl[j] = pl[j], pl[i] })
	w.rng.Shuffle(len(pc), func(i, j int) { pc[i], pc[j] = pc[j], pc[i] })
	m.Pairs = LatencyPairs{Legacy: pl[:k], Candidate: pc[:k]}
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
