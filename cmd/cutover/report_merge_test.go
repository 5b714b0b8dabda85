package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/diff"
)

// addSite adds n exchanges of one site: legacy at base ms, the candidate
// slower by extra ms, every 20th a 502 from the candidate.
func addSite(aggs []*diff.Aggregator, start time.Time, n, base, extra int) {
	for i := range n {
		json := http.Header{"Content-Type": {"application/json"}}
		l := &diff.Response{Status: 200, Header: json, Body: []byte(`{"ok":1}`), Total: time.Duration(base+i%9) * time.Millisecond}
		c := &diff.Response{Status: 200, Header: json, Body: []byte(`{"ok":1}`), Total: time.Duration(base+extra+i%9) * time.Millisecond}
		if i%20 == 0 {
			c = &diff.Response{Status: 502, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<h1>bad gateway</h1>"), Total: time.Millisecond}
		}
		for _, a := range aggs {
			a.Add(&diff.Exchange{Time: start.Add(time.Duration(i) * 50 * time.Millisecond), Weight: 5,
				Request: diff.Request{Method: "GET", URI: "/api/items/1"}, Legacy: l, Candidate: c})
		}
	}
}

// TestReportMergesSummaries: two mirrors' summaries given as two --in
// make one summary whose counts are their sums and whose percentiles are
// those of one aggregator that saw both sites' exchanges.
func TestReportMergesSummaries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	start := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	a, b, both := diff.NewAggregator(diff.AggregatorConfig{}), diff.NewAggregator(diff.AggregatorConfig{}), diff.NewAggregator(diff.AggregatorConfig{})
	addSite([]*diff.Aggregator{a, both}, start, 600, 3, 1)
	addSite([]*diff.Aggregator{b, both}, start, 300, 80, 20)
	var ins []string
	for i, agg := range []*diff.Aggregator{a, b} {
		data, err := json.Marshal(agg.Summary("mirror"))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, []string{"a.json", "b.json"}[i])
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, "--in", p)
	}
	out := filepath.Join(dir, "merged.json")
	code, _, stderr := runCLI(t, append(append([]string{"report"}, ins...), "--format", "json", "-o", out)...)
	if code != 1 {
		t.Fatalf("exit code %d (stderr %q), want 1: the 502s fail the verdict", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := diff.ParseSummary(data)
	if err != nil {
		t.Fatal(err)
	}
	want := both.Summary("mirror")
	if diff := cmp.Diff(want.Counts, got.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if got.Status5xx != want.Status5xx || got.Status5xx.Candidate != 45 {
		t.Errorf("5xx %+v, want %+v (45 candidate)", got.Status5xx, want.Status5xx)
	}
	for _, p := range []struct {
		name      string
		want, got float64
	}{
		{"legacy p50", want.LatencyMs.Legacy.P50, got.LatencyMs.Legacy.P50},
		{"legacy p99", want.LatencyMs.Legacy.P99, got.LatencyMs.Legacy.P99},
		{"candidate p50", want.LatencyMs.Candidate.P50, got.LatencyMs.Candidate.P50},
		{"candidate p99", want.LatencyMs.Candidate.P99, got.LatencyMs.Candidate.P99},
		{"candidate max", want.LatencyMs.Candidate.Max, got.LatencyMs.Candidate.Max},
	} {
		if p.got != p.want {
			t.Errorf("%s = %v, want %v (from the merged histograms)", p.name, p.got, p.want)
		}
	}
	if got.Run == nil || got.Run.Sources != 2 {
		t.Errorf("run %+v: want 2 sources", got.Run)
	}

	// One bad input among good ones: one line, exit 2.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"cutover.summary/v1","source":"mirror","counts":{"requests":5},"verdict":"pass"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "report", ins[0], ins[1], "--in", bad, "--format", "md", "-o", filepath.Join(dir, "x.md"))
	if code != 2 {
		t.Errorf("exit code %d with an inconsistent summary, want 2 (stderr %q)", code, stderr)
	}
}
