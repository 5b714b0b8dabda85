package mirror

import (
	"math"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/admin"
)

// Metric names that rollout's Prometheus source reads: together they carry
// what the built-in gates need, per side and endpoint, summed by PromQL
// over a fleet of mirrors.
const (
	metricPrefix          = "cutover_mirror"
	MetricRequests        = "cutover_mirror_requests_total"            // {side, endpoint} served
	MetricErrors          = "cutover_mirror_errors_total"              // {side, endpoint} served 5xx or no answer
	MetricExchanges       = metricPrefix + admin.MetricExchanges       // shadow accounting: requests
	MetricCompared        = metricPrefix + admin.MetricCompared        // {endpoint}
	MetricDifferent       = metricPrefix + admin.MetricDifferent       // {endpoint}
	MetricFailed          = metricPrefix + admin.MetricFailed          // {side: legacy, candidate, both}
	MetricSkipped         = metricPrefix + admin.MetricSkipped         // {reason}
	MetricComparedLatency = "cutover_mirror_compared_duration_seconds" // {side} histogram of compared exchanges
)

// ComparedLatencyBuckets are the compared-latency histogram's upper bounds:
// four a doubling from 100µs to about 50s, fine enough for a rank test on
// the histogram to reach the verdict the samples reach.
func ComparedLatencyBuckets() []float64 {
	return prometheus.ExponentialBuckets(0.0001, math.Pow(2, 0.25), 76)
}

// maxEndpointLabels bounds the endpoint label: paths come from traffic, and
// a scrape must not grow without end. The rest share "OTHER".
const maxEndpointLabels = admin.MaxEndpointLabels

// metrics is the Mirror's own Prometheus registry (never the global one, so
// that several mirrors can live in one process and tests).
type metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	errors        *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	shadowSkipped *prometheus.CounterVec
	weight        prometheus.Gauge
	compared      *prometheus.HistogramVec

	mu        sync.Mutex
	endpoints map[string]bool
}

func newMetrics(m *Mirror) *metrics {
	x := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests, Help: "Requests served to clients, by the side that served them.",
		}, []string{"side", "endpoint"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricErrors, Help: "Served requests that got a 5xx or no answer, by side.",
		}, []string{"side", "endpoint"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cutover_mirror_request_duration_seconds",
			Help:    "Time to the last byte of served answers, by side.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"side", "endpoint"}),
		shadowSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cutover_mirror_shadow_skipped_total", Help: "Requests not compared, by reason (queue_full, unsafe, body_over_cap, ...).",
		}, []string{"reason"}),
		weight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cutover_mirror_weight_percent", Help: "Share of users the candidate serves.",
		}),
		compared: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricComparedLatency,
			Help:    "Time to the last byte of both answers of compared shadow exchanges, by side: legacy and candidate measured alike.",
			Buckets: ComparedLatencyBuckets(),
		}, []string{"side"}),
		endpoints: map[string]bool{},
	}
	x.weight.Set(m.cfg.Weight)
	x.registry.MustRegister(x.requests, x.errors, x.duration, x.shadowSkipped, x.weight, x.compared,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return x
}

// withCounts adds the comparison counts, read at each scrape.
func (x *metrics) withCounts(counts func() (diff.Counts, []diff.EndpointCounts)) {
	x.registry.MustRegister(admin.NewAccounting(metricPrefix, counts))
}

func (x *metrics) handler() http.Handler {
	return promhttp.HandlerFor(x.registry, promhttp.HandlerOpts{})
}

func (x *metrics) endpointLabel(ep string) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.endpoints[ep] {
		return ep
	}
	if len(x.endpoints) >= maxEndpointLabels {
		return "OTHER"
	}
	x.endpoints[ep] = true
	return ep
}

func (x *metrics) observeServed(s side, endpoint string, a *diff.Response) {
	ep := x.endpointLabel(endpoint)
	x.requests.WithLabelValues(s.String(), ep).Inc()
	// The error series exists from the first request, at 0: a ratio of
	// errors to requests must read 0, not "no data", while all is well.
	errs := x.errors.WithLabelValues(s.String(), ep)
	if a.IsError() {
		errs.Inc()
	}
	x.duration.WithLabelValues(s.String(), ep).Observe(a.Total.Seconds())
}

// observeCompared records both answer times of an exchange both sides
// answered (what the diff engine's latency test compares).
func (x *metrics) observeCompared(ex *diff.Exchange) {
	if ex.Legacy.Failed() || ex.Candidate.Failed() {
		return
	}
	x.compared.WithLabelValues(sideLegacy.String()).Observe(ex.Legacy.Total.Seconds())
	x.compared.WithLabelValues(sideCandidate.String()).Observe(ex.Candidate.Total.Seconds())
}
