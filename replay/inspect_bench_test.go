package replay

import (
	"context"
	"io"
	"os"
	"testing"
)

// BenchmarkInspectFile runs Inspect on $CUTOVER_BENCH_CAPTURE (a large
// capture made by scripts/gencap), table output discarded.
func BenchmarkInspectFile(b *testing.B) {
	path := os.Getenv("CUTOVER_BENCH_CAPTURE")
	if path == "" {
		b.Skip("set CUTOVER_BENCH_CAPTURE to a capture")
	}
	for b.Loop() {
		if _, err := Inspect(context.Background(), io.Discard, []string{path}, InspectConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}
