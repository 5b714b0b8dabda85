package replay

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

// BenchmarkRunMax replays pace.pcap.gz (6,000 requests) at --speed max to
// legacy and a second legacy, with the comparison: one op is one replay.
func BenchmarkRunMax(b *testing.B) {
	bed := testbed.StartForTest(b, testbed.Config{Secondary: true})
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	defer client.Close()
	cfg := Config{Files: []string{filepath.Join("testdata", "pace.pcap.gz")}, Concurrency: 64,
		Legacy: mustURL(b, bed.Legacy.URL), Candidate: mustURL(b, bed.Secondary.URL)}
	b.ResetTimer()
	for range b.N {
		agg := diff.NewAggregator(diff.AggregatorConfig{})
		res, err := Run(context.Background(), cfg, client, agg, zerolog.Nop())
		if err != nil || res.Sent != 6000 {
			b.Fatalf("sent %d: %v", res.Sent, err)
		}
	}
	b.ReportMetric(float64(6000*b.N)/b.Elapsed().Seconds(), "exchanges/s")
}
