package mirror

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// Each exchange is compared once and the one comparison recorded into the
// run and into the current window: before, both aggregates decoded and
// compared both bodies.
func TestEachExchangeIsComparedOnce(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	var calls atomic.Int64
	compare := diff.NewComparer(testbed.Rules()).Compare
	agg := diff.NewAggregator(diff.AggregatorConfig{Rules: testbed.Rules(), Compare: func(l, c *diff.Response) []diff.Difference {
		calls.Add(1)
		return compare(l, c)
	}})
	cfg := Config{NoiseSamples: -1}
	cfg.Legacy, _ = url.Parse(bed.Legacy.URL)
	cfg.Candidate, _ = url.Parse(bed.Candidate.URL)
	m, err := New(cfg, agg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen(m, agg, ServerConfig{Listen: "127.0.0.1:0", Admin: "off"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	const n = 50
	for i := range n {
		if g := get("http://"+srv.Addr, fmt.Sprintf("/api/items/%d", i+1), nil); g.err != nil || g.status != 200 {
			t.Fatalf("request %d: %d %v", i, g.status, g.err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	run, win := agg.Summary("mirror").Counts, m.windows.current().report().Summary.Counts
	if run.Compared != n || win.Compared != n {
		t.Fatalf("compared %d in the run and %d in the window, want %d in both", run.Compared, win.Compared, n)
	}
	if got := calls.Load(); got != n {
		t.Errorf("%d comparisons for %d exchanges recorded in run and window, want one each", got, n)
	}
}
