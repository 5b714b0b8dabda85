package replay

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/cutover/cutover/internal/testbed"
)

// BenchmarkRead reads pace.pcap.gz (6,000 requests on 16 connections, with
// their answers) from memory, uncompressed: the reader's throughput, with
// every header kept (replay) and with only the framing ones (cutover
// inspect, which scripts/bench-replay.sh compares with tshark).
func BenchmarkRead(b *testing.B) {
	for _, lean := range []bool{false, true} {
		name := "all-headers"
		if lean {
			name = "framing-headers-only"
		}
		b.Run(name, func(b *testing.B) { benchmarkRead(b, lean) })
	}
}

func benchmarkRead(b *testing.B, lean bool) {
	data := testbed.ReadFileForTest(b, filepath.Join("testdata", "pace.pcap.gz"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := Read(context.Background(), bytes.NewReader(data), "pace", ReadConfig{FramingHeadersOnly: lean}, func(r *Record) error {
			n++
			return nil
		}); err != nil || n != 6000 {
			b.Fatalf("%d records, %v", n, err)
		}
	}
}
