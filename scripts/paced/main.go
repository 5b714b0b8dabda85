// Command paced sends GET requests at a steady rate over a few keep-alive
// connections: the traffic of the 2,000 req/s capture that replay's pacing
// is measured on (wrk has no fixed-rate mode). Used by make-captures.sh.
//
//	go run ./scripts/paced -url http://127.0.0.1:8080 -rate 2000 -duration 3s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "", "base URL")
	rate := flag.Float64("rate", 2000, "requests per second")
	dur := flag.Duration("duration", 3*time.Second, "how long to send")
	conns := flag.Int("conns", 16, "keep-alive connections")
	paths := flag.String("paths", "/edge/health,/api/items/1,/text,/api/items/2?x=1", "comma-separated paths, sent in turn")
	flag.Parse()
	if err := run(*base, *rate, *dur, *conns, strings.Split(*paths, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "paced:", err)
		os.Exit(1)
	}
}

func run(base string, rate float64, dur time.Duration, conns int, paths []string) error {
	if base == "" || rate <= 0 || conns <= 0 {
		return fmt.Errorf("want -url, -rate > 0 and -conns > 0")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}, Timeout: 5 * time.Second}
	ctx := context.Background()
	jobs := make(chan string, conns)
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for p := range jobs {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
				if err != nil {
					failed.Add(1)
					continue
				}
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				sent.Add(1)
			}
		})
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	n := int(dur / interval)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		jobs <- paths[i%len(paths)]
	}
	close(jobs)
	wg.Wait()
	took := time.Since(start)
	fmt.Fprintf(os.Stderr, "paced: %d sent, %d failed in %v (%.0f req/s)\n", sent.Load(), failed.Load(), took.Round(time.Millisecond), float64(sent.Load())/took.Seconds())
	if failed.Load() > 0 {
		return fmt.Errorf("%d requests failed", failed.Load())
	}
	return nil
}
