package tap

import (
	"encoding/json"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/mirror"
)

// SourceName names the tap in summaries.
const SourceName = "tap"

// LatencyNote says in every summary of the tap how latency is judged.
const (
	latencyNote          = "legacy's latency is seen on the wire, the candidate's as sent by cutover: both are reported, not judged against each other"
	latencyNoteSecondary = latencyNote + "; the candidate is judged against the secondary, sent by the same sender"
)

// unjudged keeps an aggregator from judging latency: its two sides are not
// measured alike.
var unjudged = diff.LatencyConfig{MinSamples: math.MaxInt32}

// Results is what a tap has counted: the run's aggregate, the window a
// rollout step is judged on, and, with a secondary, the aggregates that
// judge the candidate's latency against it. It is safe for concurrent use.
type Results struct {
	cfg       diff.AggregatorConfig
	verdict   diff.VerdictConfig
	secondary bool

	main, mainLat *diff.Aggregator
	mu            sync.Mutex // serialises rotations
	cur           atomic.Pointer[window]
	started       time.Time
	// legacy and candidate are what each side answered in the whole run.
	legacy, candidate servedCounts
	// warm holds the run's first comparisons until legacy's noise is
	// first learned (warmup.go); with a secondary, noise is measured with
	// every exchange, and it is done from the start.
	warm warmup
	// alike, with a secondary, is the histogram of the times measured alike
	// (MetricComparedLatency), for a Prometheus that a rollout reads.
	alike *prometheus.HistogramVec
}

// window is the part of a run a rollout step is judged on.
type window struct {
	id        string
	started   time.Time
	agg, lat  *diff.Aggregator
	legacy    servedCounts
	candidate servedCounts
}

type servedCounts struct{ requests, errors atomic.Int64 }

// NewResults makes the aggregates of a tap from cfg (its Latency is
// overridden: see Results); secondary says whether a secondary is sent.
func NewResults(cfg diff.AggregatorConfig, secondary bool) *Results {
	r := &Results{cfg: cfg, verdict: cfg.Verdict, secondary: secondary, started: time.Now()}
	judged := cfg
	cfg.Latency = unjudged
	r.main = diff.NewAggregator(cfg)
	if secondary {
		r.mainLat = diff.NewAggregator(judged)
		r.alike = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricComparedLatency,
			Help:    "Time to the last byte of both answers sent by the tap, the secondary's as side legacy: measured alike.",
			Buckets: mirror.ComparedLatencyBuckets()}, []string{"side"})
		// Both series exist from the start: their presence says latency is
		// judged, before the first sample.
		r.alike.WithLabelValues("legacy")
		r.alike.WithLabelValues("candidate")
	}
	if secondary {
		r.warm.done.Store(true)
	}
	r.cur.Store(r.newWindow(""))
	return r
}

// record counts a comparison in the run and its current window.
func (r *Results) record(c *diff.Comparison) {
	r.main.Record(c)
	r.cur.Load().agg.Record(c)
}

func (r *Results) newWindow(id string) *window {
	w := &window{id: id, started: time.Now(), agg: r.main.Window()}
	if r.mainLat != nil {
		w.lat = r.mainLat.Window()
	}
	return w
}

// Endpoint names the endpoint of a request.
func (r *Results) Endpoint(method, uri string) string { return r.main.Endpoint(method, uri) }

// Counts are the run's cheap counts, for /metrics.
func (r *Results) Counts() (diff.Counts, []diff.EndpointCounts) { return r.main.Counts() }

// Skip counts a request not compared.
func (r *Results) Skip(endpoint, reason string) {
	r.main.Skip(endpoint, reason)
	r.cur.Load().agg.Skip(endpoint, reason)
}

// AddNoiseSample learns noise from two answers of legacy, compared once
// for the run and its window; the first one ends the warm-up.
func (r *Results) AddNoiseSample(req diff.Request, first, second *diff.Response) {
	n := r.main.CompareNoise(req, first, second)
	r.main.RecordNoise(n)
	r.cur.Load().agg.RecordNoise(n)
	r.warm.end(r.record)
}

// Add counts an exchange.
func (r *Results) Add(ex *diff.Exchange) {
	w := r.cur.Load()
	failed := ex.Candidate.Failed() || ex.Candidate.Status >= 500
	for _, c := range []*servedCounts{&w.candidate, &r.candidate} {
		c.requests.Add(1)
		if failed {
			c.errors.Add(1)
		}
	}
	if c := r.main.Compare(ex); !r.warm.hold(c, time.Now(), r.record) { // once, for the run and its window
		r.record(c)
	}
	if r.mainLat != nil && !ex.Secondary.Failed() && !ex.Candidate.Failed() {
		// Judged alike: the secondary takes legacy's place, both sent by
		// the same sender. Only latency is read from these.
		alike := &diff.Exchange{Time: ex.Time, Request: ex.Request, Legacy: ex.Secondary, Candidate: ex.Candidate}
		r.mainLat.Add(alike)
		w.lat.Add(alike)
		r.alike.WithLabelValues("legacy").Observe(ex.Secondary.Total.Seconds())
		r.alike.WithLabelValues("candidate").Observe(ex.Candidate.Total.Seconds())
	}
}

// observeLegacy counts an answer legacy served, seen on the wire.
func (r *Results) observeLegacy(a *diff.Response) {
	for _, c := range []*servedCounts{&r.cur.Load().legacy, &r.legacy} {
		c.requests.Add(1)
		if a.Status >= 500 {
			c.errors.Add(1)
		}
	}
}

// Summary is the summary JSON of the whole run. It ends the warm-up: what
// it holds is counted in every summary.
func (r *Results) Summary() diff.Summary {
	r.warm.end(r.record)
	return r.summarize(r.main, r.mainLat)
}

func (r *Results) summarize(agg, lat *diff.Aggregator) diff.Summary {
	s := agg.Summary(SourceName)
	note := latencyNote
	if lat != nil {
		note = latencyNoteSecondary
		ls := lat.Summary(SourceName)
		s.LatencyVerdict = ls.LatencyVerdict
		byName := map[string]diff.LatencyVerdict{}
		for _, e := range ls.Endpoints {
			byName[e.Endpoint] = e.LatencyVerdict
		}
		for i := range s.Endpoints {
			if v, ok := byName[s.Endpoints[i].Endpoint]; ok {
				s.Endpoints[i].LatencyVerdict = v
			}
		}
		if b, err := json.Marshal(ls.LatencyMs); err == nil {
			s.Extra = map[string]json.RawMessage{"latency_ms_judged": b}
		}
	} else {
		// Not comparable, however many samples come: a rollout's latency
		// gates read this status and are not applicable, rather than wait.
		notJudged := func(v *diff.LatencyVerdict) {
			v.Status = diff.LatencyNotComparable
			v.Reason = "not judged: " + latencyNote + "; give a secondary to judge it"
		}
		notJudged(&s.LatencyVerdict)
		for i := range s.Endpoints {
			notJudged(&s.Endpoints[i].LatencyVerdict)
		}
	}
	if s.Extra == nil {
		s.Extra = map[string]json.RawMessage{}
	}
	s.Extra["latency_note"], _ = json.Marshal(note)
	s.Verdict, s.Reasons = r.verdict.Judge(&s)
	return s
}

// Window is the current window's report, as a mirror's GET /window.
func (r *Results) Window() mirror.WindowReport {
	w := r.cur.Load()
	return mirror.WindowReport{
		ID: w.id, Started: w.started,
		Served: map[string]mirror.ServedCounts{
			"legacy":    {Requests: w.legacy.requests.Load(), Errors: w.legacy.errors.Load()},
			"candidate": {Requests: w.candidate.requests.Load(), Errors: w.candidate.errors.Load()},
		},
		Summary: r.summarize(w.agg, w.lat),
	}
}

// Rotate starts a new window (a rollout step) and returns it.
func (r *Results) Rotate(id string) mirror.WindowReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur.Store(r.newWindow(id))
	return r.Window()
}
