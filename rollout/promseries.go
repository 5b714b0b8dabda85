package rollout

import (
	"context"
	"fmt"
	"strings"

	"github.com/cutover/cutover/mirror"
	"github.com/cutover/cutover/tap"
)

// PromSeries names the series a PrometheusSource sums: those of a fleet of
// mirrors (MirrorSeries) or of taps (TapSeries). Both carry the accounting
// of package internal/admin under their own prefix.
type PromSeries struct {
	// Kind names the exporter in errors.
	Kind string
	// Requests and Errors are {side} counters of answers served (a tap:
	// legacy's seen on the wire, the candidate's to what it was sent).
	Requests, Errors string
	// Exchanges, Compared {endpoint}, Different {endpoint}, Failed {side}
	// and Skipped {reason} are the shadow accounting.
	Exchanges, Compared, Different, Failed, Skipped string
	// ComparedLatency is the {side} histogram of compared exchanges' times,
	// both sides measured alike.
	ComparedLatency string
	// LatencyOptional says an exporter measures both sides alike only
	// sometimes (a tap, only with a secondary, exports the histogram then):
	// with no series of ComparedLatency, latency is not comparable
	// (diff.LatencyNotComparable) rather than waiting for samples.
	LatencyOptional bool
}

var (
	// MirrorSeries are a mirror's (mirror/metrics.go).
	MirrorSeries = PromSeries{Kind: "mirror", Requests: mirror.MetricRequests, Errors: mirror.MetricErrors,
		Exchanges: mirror.MetricExchanges, Compared: mirror.MetricCompared, Different: mirror.MetricDifferent,
		Failed: mirror.MetricFailed, Skipped: mirror.MetricSkipped, ComparedLatency: mirror.MetricComparedLatency}
	// TapSeries are a tap's (tap/admin.go).
	TapSeries = PromSeries{Kind: "tap", Requests: tap.MetricRequests, Errors: tap.MetricErrors,
		Exchanges: tap.MetricExchanges, Compared: tap.MetricCompared, Different: tap.MetricDifferent,
		Failed: tap.MetricFailed, Skipped: tap.MetricSkipped, ComparedLatency: tap.MetricComparedLatency,
		LatencyOptional: true}
)

// names are every series the measure is made of.
func (p PromSeries) names() []string {
	return []string{p.Requests, p.Errors, p.Exchanges, p.Compared, p.Different, p.Failed, p.Skipped, p.ComparedLatency + "_bucket"}
}

// detectSeries finds which kind of exporter the Prometheus scrapes: one
// kind only, since a mirror in front of a legacy that a tap also watches
// would count the same requests twice.
func (s *PrometheusSource) detectSeries(ctx context.Context) (PromSeries, error) {
	var found []PromSeries
	var names []string
	for _, k := range []PromSeries{MirrorSeries, TapSeries} {
		v, err := s.query(ctx, fmt.Sprintf("count(%s%s)", k.Exchanges, s.match("")), s.now())
		if err != nil {
			return PromSeries{}, err
		}
		names = append(names, k.Exchanges)
		if vals, _ := samples(v); len(vals) > 0 && vals[0] > 0 {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return PromSeries{}, fmt.Errorf("prometheus %s: no %s series: it scrapes no mirror's or tap's /metrics", s.URL, strings.Join(names, " or "))
	case 1:
		return found[0], nil
	}
	return PromSeries{}, fmt.Errorf("prometheus %s: it scrapes both mirrors and taps, and a rollout sums one kind: narrow it with a selector", s.URL)
}
