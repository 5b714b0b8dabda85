package replay

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

// Identical sides are judged identical (A/A): a capture replayed as fast
// as it goes to the test bed's legacy NGINX/Lua as legacy and its second
// instance as candidate gives a candidate/legacy p50 ratio within 0.9–1.1
// and no latency regression. Both sides of an exchange are sent together
// by the one sender and timed by the kernel's receive timestamps. The box
// is shared: an attempt that misses is taken again, up to three; a bias of
// the replay's own shows in every one.
func TestReplayCalibrationIdenticalSides(t *testing.T) {
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true})
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	defer client.Close()
	var last string
	for attempt := 1; attempt <= 3; attempt++ {
		agg := diff.NewAggregator(diff.AggregatorConfig{Rules: testbed.Rules()})
		// wrk's capture eight times over: 3,700 exchanges.
		files := slices.Repeat([]string{testdataPath("wrk.pcap.gz")}, 8)
		cfg := Config{
			Files: files, Concurrency: 4,
			Legacy: mustURL(t, bed.Legacy.URL), Candidate: mustURL(t, bed.Secondary.URL),
		}
		if _, err := Run(context.Background(), cfg, client, agg, zerolog.Nop()); err != nil {
			t.Fatal(err)
		}
		s := agg.Summary("replay")
		if err := s.Counts.Check(); err != nil {
			t.Fatal(err)
		}
		v := s.LatencyVerdict
		t.Logf("attempt %d: %d compared, p50 ratio %.3f, p99 ratio %.3f (legacy p50 %.3f ms), %s: %s",
			attempt, s.Counts.Compared, v.P50Ratio, v.P99Ratio, s.LatencyMs.Legacy.P50, v.Status, v.Reason)
		if s.Counts.Compared < 1000 {
			t.Fatalf("too few exchanges compared: %+v", s.Counts)
		}
		switch {
		case v.Status == diff.LatencyRegression:
			last = "identical sides judged a latency regression: " + v.Reason
		case v.P50Ratio < 0.9 || v.P50Ratio > 1.1:
			last = "p50 ratio outside 0.9–1.1"
		default:
			return
		}
	}
	t.Errorf("in each of 3 attempts; in the last: %s", last)
}
