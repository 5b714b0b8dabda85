package mirror

import (
	"io"
	"net/http"
	"testing"

	"github.com/cutover/cutover/internal/testbed"
)

// BenchmarkMirrorRequest measures one client request through the mirror in
// front of the real legacy NGINX, with the shadow to the candidate fixture
// and the comparison included. For the comparison with NGINX's own mirror
// directive, see scripts/bench-mirror.sh and BENCHMARKS.md.
func BenchmarkMirrorRequest(b *testing.B) {
	bed := testbed.StartForTest(b, testbed.Config{})
	r := startMirror(b, bed, Config{QueueSize: 4096}, ServerConfig{Admin: "off"})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(r.url + "/api/items/42")
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
