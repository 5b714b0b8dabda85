package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cutover/cutover/diff"
)

// Names of the accounting metrics after a source's prefix ("cutover_mirror",
// "cutover_tap"): together the summary's whole accounting, so that
// requests == skipped + compared + failed can be checked, and a fleet
// summed, from /metrics alone.
const (
	MetricExchanges = "_exchanges_total" // requests accounted by the comparison
	MetricCompared  = "_compared_total"  // {endpoint}
	MetricDifferent = "_different_total" // {endpoint}
	MetricFailed    = "_failed_total"    // {side: legacy, candidate, both}
	MetricSkipped   = "_skipped_total"   // {reason}
)

// MaxEndpointLabels bounds the endpoint label: paths come from traffic, and
// a scrape must not grow without end.
const MaxEndpointLabels = 200

// Counts reads a source's cheap counts (*diff.Aggregator.Counts is one).
type Counts func() (diff.Counts, []diff.EndpointCounts)

// accounting exposes the diff engine's counts, read at each scrape. It
// reads the cheap counts, not the summary: a scrape must not run latency
// tests.
type accounting struct {
	counts                                       Counts
	exchanges, compared, different, failed, skip *prometheus.Desc
}

var _ prometheus.Collector = (*accounting)(nil)

// NewAccounting is the collector of the accounting metrics named prefix+Metric*.
func NewAccounting(prefix string, counts Counts) prometheus.Collector {
	return &accounting{
		counts: counts,
		exchanges: prometheus.NewDesc(prefix+MetricExchanges,
			"Requests accounted by the comparison: skipped + compared + failed.", nil, nil),
		compared: prometheus.NewDesc(prefix+MetricCompared,
			"Exchanges where both sides answered, by endpoint.", []string{"endpoint"}, nil),
		different: prometheus.NewDesc(prefix+MetricDifferent,
			"Compared exchanges with at least one difference that is not noise, by endpoint.", []string{"endpoint"}, nil),
		failed: prometheus.NewDesc(prefix+MetricFailed,
			"Exchanges where a side gave no HTTP answer, by side (legacy, candidate, both).", []string{"side"}, nil),
		skip: prometheus.NewDesc(prefix+MetricSkipped,
			"Requests not compared, by reason, as the summary counts them.", []string{"reason"}, nil),
	}
}

func (c *accounting) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.exchanges
	ch <- c.compared
	ch <- c.different
	ch <- c.failed
	ch <- c.skip
}

func (c *accounting) Collect(ch chan<- prometheus.Metric) {
	counts, endpoints := c.counts()
	ch <- prometheus.MustNewConstMetric(c.exchanges, prometheus.CounterValue, float64(counts.Requests))
	for side, n := range map[string]int64{"legacy": counts.Failed.Legacy, "candidate": counts.Failed.Candidate, "both": counts.Failed.Both} {
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(n), side)
	}
	for reason, n := range counts.Skipped {
		ch <- prometheus.MustNewConstMetric(c.skip, prometheus.CounterValue, float64(n), reason)
	}
	for i, ep := range endpoints {
		if i >= MaxEndpointLabels {
			break
		}
		ch <- prometheus.MustNewConstMetric(c.compared, prometheus.CounterValue, float64(ep.Compared), ep.Endpoint)
		ch <- prometheus.MustNewConstMetric(c.different, prometheus.CounterValue, float64(ep.Different), ep.Endpoint)
	}
}
