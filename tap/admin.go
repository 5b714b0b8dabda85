package tap

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/admin"
)

// Status is what GET /status answers.
type Status struct {
	Source  string    `json:"source"`
	Started time.Time `json:"started"`
	// Window is the current window's id ("" before a rollout opened one).
	Window string `json:"window"`
	Drops  int64  `json:"kernel_drops"`
}

// Metric names of the tap: the accounting of package internal/admin (the
// mirror's, under the tap's prefix), what each side answered, and what the
// kernel dropped.
const (
	metricPrefix      = "cutover_tap"
	MetricExchanges   = metricPrefix + admin.MetricExchanges // requests read off the capture, accounted
	MetricCompared    = metricPrefix + admin.MetricCompared  // {endpoint}
	MetricDifferent   = metricPrefix + admin.MetricDifferent // {endpoint}
	MetricFailed      = metricPrefix + admin.MetricFailed    // {side: legacy, candidate, both}
	MetricSkipped     = metricPrefix + admin.MetricSkipped   // {reason}
	MetricRequests    = metricPrefix + "_requests_total"     // {side}: legacy's answers seen, the candidate's to what was sent
	MetricErrors      = metricPrefix + "_errors_total"       // {side}: of those, 5xx or no answer
	MetricKernelDrops = metricPrefix + "_kernel_drops_total"
	// MetricComparedLatency {side} is exported only with a secondary: the
	// times of the secondary (as side legacy) and the candidate, both sent
	// by the tap, on the mirror's buckets.
	MetricComparedLatency = metricPrefix + "_compared_duration_seconds"
)

// AdminOptions are how the admin API of a tap is served.
type AdminOptions struct {
	// Token authorises POST /window and, when set, every read.
	Token string
	// Pprof serves Go profiles at /debug/pprof/.
	Pprof bool
}

// AdminHandler serves the admin API of a tap, the mirror's (package
// internal/admin), so that `cutover rollout --mirror` gates on a tap as on
// a mirror; the weight is set elsewhere, so PUT /weight is not served.
// drops reads the kernel's drops so far.
func AdminHandler(res *Results, drops func() int64, opts AdminOptions, log zerolog.Logger) http.Handler {
	return admin.New(adminSource{res, drops}, admin.Config{Name: SourceName, Token: opts.Token, Pprof: opts.Pprof,
		Metrics: metricsHandler(res, drops), ReportTitle: "cutover tap (live)", Log: log})
}

// adminSource is what the admin API reads of a tap.
type adminSource struct {
	res   *Results
	drops func() int64
}

var _ admin.Source = adminSource{}

func (a adminSource) Status() any {
	return Status{Source: SourceName, Started: a.res.started, Window: a.res.cur.Load().id, Drops: a.drops()}
}

func (a adminSource) Summary() diff.Summary { return a.res.Summary() }

// Window has no latency pairs: the tap's two sides are not measured
// alike, so there is nothing for a latency gate to pair.
func (a adminSource) Window(int64) (any, error) { return a.res.Window(), nil }

func (a adminSource) Rotate(id string) (admin.Opened, error) {
	w := a.res.Rotate(id)
	return admin.Opened{ID: w.ID, Started: w.Started}, nil
}

// metricsHandler serves the tap's counts from a registry of its own.
func metricsHandler(res *Results, drops func() int64) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(admin.NewAccounting(metricPrefix, res.Counts),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: MetricKernelDrops, Help: "Packets the kernel dropped from the capture."},
			func() float64 { return float64(drops()) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if res.alike != nil {
		reg.MustRegister(res.alike)
	}
	for _, side := range []struct {
		name string
		c    *servedCounts
	}{{"legacy", &res.legacy}, {"candidate", &res.candidate}} {
		labels := prometheus.Labels{"side": side.name}
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: MetricRequests, ConstLabels: labels,
				Help: "Answers by side: legacy's seen on the wire, the candidate's to the requests sent."},
				func() float64 { return float64(side.c.requests.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: MetricErrors, ConstLabels: labels,
				Help: "Answers by side that were a 5xx or no answer."},
				func() float64 { return float64(side.c.errors.Load()) }))
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
