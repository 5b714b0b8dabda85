// Package reports renders results for people and for CI. It computes no
// statistics: the diff engine and the rollout journal do.
package reports

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cutover/cutover/diff"
)

// textTopEndpoints bounds the endpoints the terminal summary lists.
const textTopEndpoints = 10

// Text writes a short summary for a terminal: the verdict, the accounting,
// latency per side and the endpoints with reported differences.
func Text(w io.Writer, s *diff.Summary) error {
	var b strings.Builder
	c := s.Counts
	fmt.Fprintf(&b, "verdict: %s (%s)\n", strings.ToUpper(s.Verdict), s.Source)
	for _, r := range s.Reasons {
		fmt.Fprintf(&b, "  - %s\n", r)
	}
	fmt.Fprintf(&b, "requests: %d = skipped %d + compared %d + failed %d (legacy %d, candidate %d, both %d)\n",
		c.Requests, sum(c.Skipped), c.Compared, c.Failed.Legacy+c.Failed.Candidate+c.Failed.Both,
		c.Failed.Legacy, c.Failed.Candidate, c.Failed.Both)
	if len(c.Skipped) > 0 {
		fmt.Fprintf(&b, "skipped: %s\n", reasons(c.Skipped))
	}
	fmt.Fprintf(&b, "different: %d of %d compared\n", c.Different, c.Compared)
	l := s.LatencyMs
	fmt.Fprintf(&b, "latency ms   legacy p50 %.1f p99 %.1f   candidate p50 %.1f p99 %.1f\n",
		l.Legacy.P50, l.Legacy.P99, l.Candidate.P50, l.Candidate.P99)

	eps := slices.Clone(s.Endpoints)
	slices.SortStableFunc(eps, func(a, b diff.EndpointSummary) int { return cmp.Compare(b.Different, a.Different) })
	shown := 0
	for _, ep := range eps {
		if ep.Different == 0 || shown == textTopEndpoints {
			continue
		}
		shown++
		fmt.Fprintf(&b, "%s: %d of %d different\n", ep.Endpoint, ep.Different, ep.Compared)
		for _, f := range ep.Fields {
			if f.Reported {
				fmt.Fprintf(&b, "    %-40s %-8s %d\n", f.Path, f.Kind, f.Count)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func reasons(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
