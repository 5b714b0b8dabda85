// Package fleettest runs a mirror in front of the test bed, with live load,
// for the tests of what drives mirrors (the rollout controller, the CLI).
package fleettest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/mirror"
)

// Mirror is a mirror serving in front of a test bed until the test ends.
type Mirror struct {
	*mirror.Mirror
	// URL is where clients send traffic; Admin the admin API's base URL.
	URL, Admin string
}

// StartMirror starts a mirror in front of bed (and its secondary, when it
// has one) with the test bed's rules, its admin API guarded by token.
func StartMirror(t testing.TB, bed *testbed.Bed, cfg mirror.Config, token string) *Mirror {
	t.Helper()
	cfg.Legacy, _ = url.Parse(bed.Legacy.URL)
	cfg.Candidate, _ = url.Parse(bed.Candidate.URL)
	if bed.Secondary != nil {
		cfg.Secondary, _ = url.Parse(bed.Secondary.URL)
	}
	agg := diff.NewAggregator(diff.AggregatorConfig{Rules: testbed.Rules()})
	m, err := mirror.New(cfg, agg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mirror.Listen(m, agg, mirror.ServerConfig{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0", AdminToken: token, DrainTimeout: time.Second}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &Mirror{Mirror: m, URL: "http://" + srv.Addr, Admin: "http://" + srv.AdminAddr}
}

// Load sends item and list requests to base from clients goroutines, each
// request from one of many users (X-User), pausing pace between requests
// (0: as fast as they can), until the test ends. Register it after the
// mirror, so that it stops first.
func Load(t testing.TB, base string, clients int, pace time.Duration) {
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for w := range clients {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				path := fmt.Sprintf("/api/items/%d", 1+(w*7919+i)%1000)
				if i%3 == 0 {
					path = fmt.Sprintf("/api/items?page=%d", 1+i%100)
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
				req.Header.Set("X-User", fmt.Sprintf("u%d-%d", w, i%997))
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if pace > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(pace):
					}
				}
			}
		})
	}
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})
}
