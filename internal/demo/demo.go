// Package demo runs cutover end to end on the local test bed, so that a
// newcomer sees the product work in one command: the mirror in front of
// the legacy NGINX/Lua edge and the candidate, a mixed load, a candidate
// regression switched on part way, and the summary.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/mirror"
)

// Config shapes a demo run. Zero values take the defaults in brackets.
type Config struct {
	Duration time.Duration // [60s]
	Weight   float64       // percent of users on the candidate [10]
	Users    int           // concurrent clients [8]
	Rate     float64       // requests per second overall [200]
	// Out receives the running commentary.
	Out io.Writer
}

func (c Config) withDefaults() Config {
	if c.Duration <= 0 {
		c.Duration = time.Minute
	}
	if c.Weight == 0 {
		c.Weight = 10
	}
	if c.Users <= 0 {
		c.Users = 8
	}
	if c.Rate <= 0 {
		c.Rate = 200
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// regression is what the candidate gets wrong from half way through: a
// changed price on item answers and 15ms more latency.
var regression = testbed.Switches{
	ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`0.99`)},
	Latency:     testbed.Latency{Fixed: testbed.Duration(15 * time.Millisecond)},
}

// Run starts the test bed and the mirror, drives the load, and returns the
// mirror's summary once everything has stopped.
func Run(ctx context.Context, log zerolog.Logger, cfg Config) (diff.Summary, error) {
	cfg = cfg.withDefaults()
	out := cfg.Out
	bed, err := testbed.Start(ctx, log, testbed.Config{Secondary: true})
	if err != nil {
		return diff.Summary{}, err
	}
	defer bed.Stop()

	rules := testbed.Rules()
	agg := diff.NewAggregator(diff.AggregatorConfig{Rules: rules})
	mcfg := mirror.Config{Weight: cfg.Weight, SplitKey: "header:X-User", ForceHeader: "X-Cutover"}
	mcfg.Legacy, _ = url.Parse(bed.Legacy.URL)
	mcfg.Candidate, _ = url.Parse(bed.Candidate.URL)
	mcfg.Secondary, _ = url.Parse(bed.Secondary.URL)
	m, err := mirror.New(mcfg, agg, log)
	if err != nil {
		return diff.Summary{}, err
	}
	summary := func() diff.Summary { return agg.Summary("mirror") }
	srv, err := mirror.Listen(m, agg, mirror.ServerConfig{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0"}, log)
	if err != nil {
		m.Close(ctx)
		return diff.Summary{}, err
	}
	fmt.Fprintf(out, "legacy     %s (NGINX + Lua)\nsecondary  %s (NGINX + Lua, for noise)\ncandidate  %s (Go)\nmirror     http://%s  (admin http://%s/status)\n\n",
		bed.Legacy.URL, bed.Secondary.URL, bed.Candidate.URL, srv.Addr, srv.AdminAddr)

	mctx, stopMirror := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(mctx) }()
	// Shutting the mirror down drains its shadows: once, on every path out.
	shutdown := sync.OnceValue(func() error {
		stopMirror()
		return <-served
	})
	defer shutdown()

	lctx, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	defer stopLoad()
	var st loadStats
	loadDone := make(chan struct{})
	go func() {
		drive(lctx, "http://"+srv.Addr, cfg.Users, cfg.Rate, &st)
		close(loadDone)
	}()
	fmt.Fprintf(out, "driving %.0f req/s from %d clients for %s; %g%% of users on the candidate\n", cfg.Rate, cfg.Users, cfg.Duration, cfg.Weight)

	half := time.NewTimer(cfg.Duration / 2)
	defer half.Stop()
	progress := time.NewTicker(max(cfg.Duration/6, time.Second))
	defer progress.Stop()
	for running := true; running; {
		select {
		case <-half.C:
			if err := bed.Candidate.SetSwitches(regression); err != nil {
				return diff.Summary{}, err
			}
			fmt.Fprintf(out, "%5.1fs  candidate regresses: item price changed, +15ms latency\n", cfg.Duration.Seconds()/2)
		case <-progress.C:
			c, _ := agg.Counts()
			fmt.Fprintf(out, "        sent %d, compared %d, different %d\n", st.sent.Load(), c.Compared, c.Different)
		case <-loadDone:
			running = false
		}
	}
	if err := shutdown(); err != nil {
		return diff.Summary{}, fmt.Errorf("mirror: %w", err)
	}
	fmt.Fprintf(out, "\nclients sent %d requests, %d failed\n\n", st.sent.Load(), st.failed.Load())
	return summary(), nil
}
