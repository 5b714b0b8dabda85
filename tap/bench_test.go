package tap

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

// BenchmarkTapStream runs the tap over replay's pace.pcap.gz (6,000
// requests of the test bed's legacy on 16 connections, with its answers)
// from memory against a real NGINX/Lua candidate: reading, reassembly,
// sending and comparing, per request. The candidate and its origin share
// the machine (origin runs in this process: its CPU is in ns/op too; a CPU
// profile tells the tap's own share).
//
//	go test ./tap -run '^$' -bench TapStream -benchtime 5x -cpuprofile /tmp/tap.prof
func BenchmarkTapStream(b *testing.B) {
	bed := testbed.StartForTest(b, testbed.Config{EdgeCandidate: &testbed.FieldChange{Path: "/api/items/7", Field: "price", Value: json.RawMessage("999")}})
	data := testbed.ReadFileForTest(b, filepath.Join("..", "replay", "testdata", "pace.pcap.gz"))
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second, MaxConnsPerTarget: 256})
	defer client.Close()
	cfg := Config{Candidate: mustURL(b, bed.EdgeCandidate.URL)}
	var requests int64
	cpu0 := cpuTime(b)
	b.ReportAllocs()
	for b.Loop() {
		res := NewResults(diff.AggregatorConfig{}, false)
		if _, err := Run(context.Background(), cfg, Stream{R: bytes.NewReader(data), Name: "pace"}, client, res, zerolog.Nop()); err != nil {
			b.Fatal(err)
		}
		c := res.Summary().Counts
		if c.Compared < c.Requests*99/100 {
			b.Fatalf("compared %d of %d: %v", c.Compared, c.Requests, c.Skipped)
		}
		requests += c.Requests
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(requests), "ns/request")
	// CPU, not wall time: on a shared machine the wall clock measures the
	// neighbours. It includes origin's (in this process), not NGINX's.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(requests), "cpu-ns/request")
}

// cpuTime is the CPU this process used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
