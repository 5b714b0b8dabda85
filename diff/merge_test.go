package diff

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mergeSource adds n exchanges at base ms (+i%spread) per side to a, with
// every 10th answered 502 by the candidate, starting at start.
func mergeSource(a *Aggregator, start time.Time, n int, legacyMs, candidateMs, spread int) {
	for i := range n {
		l := &Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"a":1}`),
			Total: time.Duration(legacyMs+i%spread) * time.Millisecond}
		c := &Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"a":1}`),
			Total: time.Duration(candidateMs+i%spread) * time.Millisecond}
		if i%10 == 0 {
			c.Status, c.Body = 502, []byte("bad gateway")
		}
		a.Add(&Exchange{Time: start.Add(time.Duration(i) * 100 * time.Millisecond), Weight: 10,
			Request: Request{Method: "GET", URI: "/x"}, Legacy: l, Candidate: c})
	}
	a.Skip("GET /x", "unsafe")
}

// TestMergeSummaries merges two sources and compares with one aggregator
// that saw both: counts are the sums, percentiles those of the merged
// histograms (equal to the single aggregator's), not averages of the two.
func TestMergeSummaries(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	a, b, both := NewAggregator(AggregatorConfig{}), NewAggregator(AggregatorConfig{}), NewAggregator(AggregatorConfig{})
	mergeSource(a, start, 400, 2, 3, 5)
	mergeSource(b, start.Add(time.Second), 200, 40, 60, 30)
	mergeSource(both, start, 400, 2, 3, 5)
	mergeSource(both, start.Add(time.Second), 200, 40, 60, 30)
	// Through JSON, as cutover report --in reads them.
	var in []*Summary
	for _, agg := range []*Aggregator{a, b} {
		s := agg.Summary("mirror")
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseSummary(data)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, p)
	}
	got, err := MergeSummaries(in)
	if err != nil {
		t.Fatal(err)
	}
	want := both.Summary("mirror")
	if diff := cmp.Diff(want.Counts, got.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Status5xx, got.Status5xx); diff != "" {
		t.Errorf("5xx (-want +got):\n%s", diff)
	}
	for _, side := range []struct {
		name      string
		want, got Percentiles
	}{{"legacy", want.LatencyMs.Legacy, got.LatencyMs.Legacy}, {"candidate", want.LatencyMs.Candidate, got.LatencyMs.Candidate}} {
		w, g := side.want, side.got
		w.Curve, g.Curve, w.Hist, g.Hist = nil, nil, "", ""
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s latency (-want +got):\n%s", side.name, diff)
		}
	}
	// The average of the two sources' p50 is far from the merged one.
	avg := (in[0].LatencyMs.Candidate.P50 + in[1].LatencyMs.Candidate.P50) / 2
	if got.LatencyMs.Candidate.P50 == avg {
		t.Errorf("merged p50 %v is the average of the sources'", avg)
	}
	if err := got.Counts.Check(); err != nil {
		t.Error(err)
	}
	if len(got.Endpoints) != 1 || got.Endpoints[0].Requests != want.Endpoints[0].Requests {
		t.Errorf("endpoints: got %+v", got.Endpoints)
	}
	var sumEx int64
	for _, p := range got.Series.Points {
		sumEx += p.Exchanges
	}
	if sumEx != 600 {
		t.Errorf("series holds %d exchanges, want 600", sumEx)
	}
	if got.Run.Sources != 2 || got.Verdict != VerdictFail {
		t.Errorf("run %+v verdict %s", got.Run, got.Verdict)
	}
}

// TestSeriesBounded: a run longer than SeriesPoints intervals keeps its
// span at a coarser grain, every exchange counted.
func TestSeriesBounded(t *testing.T) {
	t.Parallel()
	a := NewAggregator(AggregatorConfig{SeriesInterval: time.Second, SeriesPoints: 10})
	start := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	mergeSource(a, start, 500, 1, 1, 3) // 50 s at 10 per second
	s := a.Summary("replay").Series
	if len(s.Points) > 10 {
		t.Errorf("%d points, want at most 10", len(s.Points))
	}
	var n, c5 int64
	for _, p := range s.Points {
		n += p.Exchanges
		c5 += p.Status5xx.Candidate
		for _, l := range []IntervalLatency{p.LatencyMs.Legacy, p.LatencyMs.Candidate} {
			if l.P99 > l.Max || l.P50 > l.P99 {
				t.Errorf("interval %s: p50 %v p99 %v max %v", p.Start, l.P50, l.P99, l.Max)
			}
		}
	}
	if n != 500 || c5 != 50 {
		t.Errorf("series counts %d exchanges, %d candidate 5xx; want 500, 50", n, c5)
	}
	if s.IntervalS != 8 {
		t.Errorf("interval %v s, want 8 (1 s doubled until 50 s fit in 10)", s.IntervalS)
	}
}

// A source that could not compare latency (a tap without a secondary)
// says less than one that judged it: merged, the judged verdict stands;
// only taps merged stay not comparable.
func TestWorstOfNotComparable(t *testing.T) {
	t.Parallel()
	nc := LatencyVerdict{Status: LatencyNotComparable}
	tests := []struct {
		name string
		in   []LatencyVerdict
		want string
	}{
		{"taps only", []LatencyVerdict{nc, nc}, LatencyNotComparable},
		{"a tap and an ok mirror", []LatencyVerdict{nc, {Status: LatencyOK}}, LatencyOK},
		{"a mirror short of samples and a tap", []LatencyVerdict{{Status: LatencyInconclusive}, nc}, LatencyInconclusive},
		{"a regression and a tap", []LatencyVerdict{nc, {Status: LatencyRegression}}, LatencyRegression},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := worstOf(tt.in, SideLatency{}).Status; got != tt.want {
				t.Errorf("worstOf = %q, want %q", got, tt.want)
			}
		})
	}
}
