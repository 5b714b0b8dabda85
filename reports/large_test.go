package reports

import (
	"io"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
)

// large100k is 100,000 exchanges (4 kinds × 250 × 100 endpoint families:
// 400 endpoints) through the real aggregator, with samples at their size
// cap: the HTML report's worst case.
func large100k(tb testing.TB) diff.Summary {
	tb.Helper()
	s := fixtureSummary(fixtureConfig{exchanges: 250, endpoints: 100, big: true})
	if s.Counts.Requests < 100_000 {
		tb.Fatalf("%d requests, want 100,000", s.Counts.Requests)
	}
	return s
}

// countingWriter counts what is written.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestHTMLLarge: a 100,000-exchange summary renders in under 2 s and
// under 10 MB (the time is not checked under the race detector).
func TestHTMLLarge(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a 100,000-exchange summary")
	}
	s := large100k(t)
	var w countingWriter
	start := time.Now()
	if err := HTML(&w, &s, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d endpoints: %d bytes in %v", len(s.Endpoints), w.n, took)
	if w.n >= 10<<20 {
		t.Errorf("%d bytes of HTML, want under 10 MB", w.n)
	}
	if !raceEnabled && took >= 2*time.Second {
		t.Errorf("rendered in %v, want under 2 s", took)
	}
}

func BenchmarkHTML100k(b *testing.B) {
	s := large100k(b)
	var w countingWriter
	for b.Loop() {
		w.n = 0
		if err := HTML(&w, &s, HTMLOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(w.n), "bytes/report")
}

func BenchmarkMarkdownJUnit100k(b *testing.B) {
	s := large100k(b)
	for b.Loop() {
		if err := Markdown(io.Discard, &s); err != nil {
			b.Fatal(err)
		}
		if err := JUnit(io.Discard, &s); err != nil {
			b.Fatal(err)
		}
	}
}
