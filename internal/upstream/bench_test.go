package upstream

import (
	"context"
	"testing"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// BenchmarkDo sends small GETs to the legacy NGINX/Lua of the test bed from
// 8 goroutines: the cost of the one sending path of replay and mirror.
func BenchmarkDo(b *testing.B) {
	bed := testbed.StartForTest(b, testbed.Config{})
	c := New(Config{})
	defer c.Close()
	base := mustURL(b, bed.Legacy.URL)
	req := &diff.Request{Method: "GET", URI: "/edge/health", Host: "bench.example"}
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := c.Do(context.Background(), base, req); r.Err != "" || r.Status != 200 {
				b.Errorf("got %d %s", r.Status, r.Err)
				return
			}
		}
	})
}
