package tap

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cutover/cutover/diff"
)

// Without a secondary the tap's latency is not comparable, now and with
// any number of samples, in the run's summary and the window's, overall
// and per endpoint, and that is no failure; with one it is judged, and
// /metrics carries the times measured alike for a Prometheus-fed rollout
// (none without: their absence is what says "not comparable" there).
func TestLatencyStatus(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		secondary bool
		want      string
		wantHist  map[string]uint64 // MetricComparedLatency's count by side
	}{
		{"no secondary", false, diff.LatencyNotComparable, map[string]uint64{}},
		{"a secondary", true, diff.LatencyOK, map[string]uint64{"legacy": 50, "candidate": 50}},
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
			rec := httptest.NewRecorder()
			metricsHandler(res, func() int64 { return 0 }).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			hist := map[string]uint64{}
			for _, m := range fams[MetricComparedLatency].GetMetric() {
				hist[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
			}
			if d := cmp.Diff(tt.wantHist, hist); d != "" {
				t.Errorf("%s samples by side (-want +got):\n%s", MetricComparedLatency, d)
			}
		})
	}
}

// Legacy's noise is learned from the traffic: exchanges compared before
// the first noise sample are held and recorded with it, so that legacy's
// own request ids do not count as differences at the start of a run; a
// real difference still counts, and Summary counts what is still held.
func TestWarmupHoldsUntilNoiseIsLearned(t *testing.T) {
	t.Parallel()
	answer := func(id, price string) *diff.Response {
		return &diff.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {id}},
			Body: []byte(`{"id":1,"price":` + price + `}`), Total: time.Millisecond}
	}
	req := diff.Request{Method: "GET", URI: "/api/items/1"}
	for _, tt := range []struct {
		name          string
		noise         bool // a noise sample comes after the exchanges
		wantDifferent int64
	}{
		{"noise learned after the first exchanges", true, 1},
		{"no noise sample before the summary", false, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := NewResults(diff.AggregatorConfig{}, false)
			for i := range 5 {
				price := "1"
				if i == 3 {
					price = "2" // a real difference
				}
				res.Add(&diff.Exchange{Time: time.Now(), Request: req, Legacy: answer(fmt.Sprint("l", i), "1"), Candidate: answer(fmt.Sprint("c", i), price)})
			}
			if c, _ := res.Counts(); c.Requests != 0 {
				t.Errorf("%d exchanges recorded before any noise was learned, want them held", c.Requests)
			}
			if tt.noise {
				res.AddNoiseSample(req, answer("a", "1"), answer("b", "1"))
			}
			s := res.Summary()
			got := [2]int64{s.Counts.Compared, s.Counts.Different}
			if d := cmp.Diff([2]int64{5, tt.wantDifferent}, got); d != "" {
				t.Errorf("compared, different (-want +got):\n%s", d)
			}
		})
	}
}
