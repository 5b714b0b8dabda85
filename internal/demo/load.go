package demo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// route is one kind of request of the demo's mixed load, with its share.
type route struct {
	weight int
	build  func(rng *rand.Rand) (method, path, body string)
}

// mix looks like traffic at a CDN edge in front of an API and a site.
var mix = []route{
	{45, func(rng *rand.Rand) (string, string, string) {
		return "GET", fmt.Sprintf("/api/items/%d", 1+rng.IntN(1000)), ""
	}},
	{15, func(rng *rand.Rand) (string, string, string) {
		return "GET", fmt.Sprintf("/api/items?page=%d", 1+rng.IntN(100)), ""
	}},
	{5, func(*rand.Rand) (string, string, string) { return "GET", "/v1/items/42", "" }},
	{10, func(*rand.Rand) (string, string, string) { return "GET", "/page", "" }},
	{5, func(*rand.Rand) (string, string, string) { return "GET", "/text", "" }},
	{5, func(*rand.Rand) (string, string, string) { return "GET", "/api/noisy", "" }},
	{5, func(*rand.Rand) (string, string, string) { return "GET", "/edge/health", "" }},
	{3, func(*rand.Rand) (string, string, string) { return "GET", "/binary", "" }},
	{2, func(*rand.Rand) (string, string, string) { return "GET", "/stream?chunks=3&delay_ms=5", "" }},
	{5, func(rng *rand.Rand) (string, string, string) {
		return "POST", "/echo", fmt.Sprintf(`{"order":%d}`, rng.IntN(1e6))
	}},
}

// loadStats counts what the demo's clients saw.
type loadStats struct {
	sent, failed atomic.Int64
}

// drive sends the mixed load to base from `users` concurrent users, each
// with its own X-User id (the demo splits by it), until ctx is done.
func drive(ctx context.Context, base string, users int, rate float64, st *loadStats) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: users}}
	total := 0
	for _, r := range mix {
		total += r.weight
	}
	interval := time.Duration(float64(time.Second) * float64(users) / rate)
	var wg sync.WaitGroup
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(u), 7))
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				method, path, body := pick(rng, total).build(rng)
				req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
				req.Header.Set("X-User", fmt.Sprintf("user-%d-%d", u, rng.IntN(50)))
				req.Header.Set("Accept-Encoding", "gzip")
				st.sent.Add(1)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						st.failed.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					st.failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	client.CloseIdleConnections()
}

func pick(rng *rand.Rand, total int) route {
	n := rng.IntN(total)
	for _, r := range mix {
		if n < r.weight {
			return r
		}
		n -= r.weight
	}
	return mix[0]
}
