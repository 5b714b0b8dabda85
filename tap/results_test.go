package tap

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/diff"
)

// Without a secondary the tap's latency is not comparable, now and with
// any number of samples, in the run's summary and the window's, overall
// and per endpoint, and that is no failure; with one it is judged.
func TestLatencyStatus(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		secondary bool
		want      string
	}{
		{"no secondary", false, diff.LatencyNotComparable},
		{"a secondary", true, diff.LatencyOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := NewResults(diff.AggregatorConfig{}, tt.secondary)
			// 50 alike answers, more than a latency verdict needs.
			for range 50 {
				answer := func() *diff.Response {
					return &diff.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":1}`), Total: time.Millisecond}
				}
				ex := &diff.Exchange{Time: time.Now(), Request: diff.Request{Method: "GET", URI: "/api/items/1"}, Legacy: answer(), Candidate: answer()}
				if tt.secondary {
					ex.Secondary = answer()
				}
				res.Add(ex)
			}
			for name, s := range map[string]diff.Summary{"summary": res.Summary(), "window": res.Window().Summary} {
				got := []string{s.LatencyVerdict.Status}
				for _, e := range s.Endpoints {
					got = append(got, e.LatencyVerdict.Status)
				}
				if d := cmp.Diff([]string{tt.want, tt.want}, got); d != "" {
					t.Errorf("%s: latency statuses, overall then per endpoint (-want +got):\n%s", name, d)
				}
				if s.Verdict != "pass" {
					t.Errorf("%s: verdict %s %v, want pass", name, s.Verdict, s.Reasons)
				}
			}
		})
	}
}
