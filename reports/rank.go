package reports

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cutover/cutover/diff"
)

// rankedEndpoint is an endpoint of the summary with what every format
// shows first about it: its reported fields and whether it fails.
type rankedEndpoint struct {
	*diff.EndpointSummary
	reported   []diff.FieldSummary // most frequent first
	regression bool                // the latency verdict is a regression
	severity   float64
}

// failing says whether the endpoint holds the verdict back: reported
// differences or a latency regression.
func (e rankedEndpoint) failing() bool { return len(e.reported) > 0 || e.regression }

// differentRate is the share of compared exchanges that differ.
func (e rankedEndpoint) differentRate() float64 {
	if e.Compared == 0 {
		return 0
	}
	return float64(e.Different) / float64(e.Compared)
}

// rank orders the endpoints by severity, most severe first: failing ones
// before the rest, then difference rate × traffic (the requests a
// cutover would break), then transport failures, then name. Ordering the
// summary's own figures is presentation, not statistics.
func rank(s *diff.Summary) []rankedEndpoint {
	out := make([]rankedEndpoint, len(s.Endpoints))
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		r := rankedEndpoint{EndpointSummary: e, reported: e.ReportedFields(),
			regression: e.LatencyVerdict.Status == diff.LatencyRegression}
		r.severity = r.differentRate() * float64(e.Requests)
		out[i] = r
	}
	slices.SortStableFunc(out, func(a, b rankedEndpoint) int {
		return cmp.Or(
			boolOrder(b.failing(), a.failing()),
			cmp.Compare(b.severity, a.severity),
			cmp.Compare(failures(b.Failed), failures(a.Failed)),
			strings.Compare(a.Endpoint, b.Endpoint),
		)
	})
	return out
}

// boolOrder compares false before true.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func failures(f diff.Failed) int64 { return f.Legacy + f.Candidate + f.Both }
