package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/upstream"
	"github.com/cutover/cutover/replay"
	"github.com/cutover/cutover/reports"
)

type replayFlags struct {
	legacy, candidate, secondary string
	host, speed                  string
	concurrency, limit, maxBody  int
	noiseSamples                 int
	timeout                      time.Duration
	filters                      []string
	rate                         float64
	unsafe, againstRecorded      bool
	jsonPath, rulesPath          string
	reportPath                   string
	progress                     string
	tlsKeylog                    string
	upstreamProto, upstreamCA    string
}

func newReplayCmd(a *app) *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE... --legacy URL --candidate URL [--secondary URL]",
		Short: "Re-send the HTTP requests of captures (pcap, pcapng, HAR) to legacy and candidate, and compare",
		Long: `replay reads HTTP/1.x requests from captures (pcap or pcapng, gzip-compressed
or not, and HAR) and re-sends each to legacy and candidate (and the secondary,
whose disagreements with legacy are noise) at the captured pace scaled by
--speed, open-loop. Both answers are compared; the summary is printed, and
written as JSON with --json. Unsafe methods are skipped without --unsafe.

With --against-recorded the candidate is compared with the answer recorded in
the capture, so only the candidate need be live.

Exit code: 0 pass, 1 verdict failed, 2 could not run.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			return runReplay(cmd, a, f, files)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.legacy, "legacy", "", "legacy base URL (required unless --against-recorded)")
	fl.StringVar(&f.candidate, "candidate", "", "candidate base URL (required)")
	fl.StringVar(&f.secondary, "secondary", "", "second legacy base URL, to measure noise")
	fl.IntVar(&f.noiseSamples, "noise-samples", diff.DefaultNoiseSamples, noiseSamplesUsage)
	fl.StringVar(&f.host, "host", "", "replace every request's Host header")
	fl.StringVar(&f.speed, "speed", "1", `pace factor: 1 as captured, 2 twice as fast, "max" as fast as --concurrency allows`)
	fl.IntVar(&f.concurrency, "concurrency", 64, "exchanges in flight at --speed max")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of one request to one target")
	fl.StringArrayVar(&f.filters, "filter", nil, "replay only matching requests: method=GET,HEAD path=/api/* host=*.example (repeatable)")
	fl.Float64Var(&f.rate, "rate", 0, "at most this many requests per second (0: no cap)")
	fl.IntVar(&f.limit, "limit", 0, "stop after sending this many requests (0: all)")
	bytesVar(fl, &f.maxBody, "max-body", 8<<20, "body bytes kept per message; larger requests are skipped as body_over_cap")
	fl.BoolVar(&f.unsafe, "unsafe", false, "also replay POST, PUT, PATCH, DELETE and other unsafe methods")
	fl.BoolVar(&f.againstRecorded, "against-recorded", false, "compare the candidate with the answers recorded in the capture")
	fl.StringVar(&f.jsonPath, "json", "", "write the summary JSON here")
	fl.StringVar(&f.rulesPath, "rules", "", "comparison rules (YAML)")
	fl.StringVar(&f.reportPath, "report", "", "write the HTML report here")
	fl.StringVar(&f.progress, "progress", "auto", "progress line on stderr: auto (on a terminal), on or off")
	fl.StringVar(&f.tlsKeylog, "tls-keylog", "", tlsKeylogUsage)
	fl.StringVar(&f.upstreamProto, "upstream-proto", "h1", upstreamProtoUsage)
	fl.StringVar(&f.upstreamCA, "upstream-ca", "", upstreamCAUsage)
	return cmd
}

// validate checks every flag before anything is read or sent.
func (f replayFlags) validate() error {
	var c check
	c.positive("concurrency", int64(f.concurrency))
	c.positive("max-body", int64(f.maxBody))
	c.notNegative("limit", int64(f.limit))
	c.notNegative("noise-samples", int64(f.noiseSamples))
	c.duration("timeout", f.timeout)
	c.number("rate", f.rate, 0, math.MaxFloat64)
	if f.speed != "max" {
		if s, err := strconv.ParseFloat(f.speed, 64); err != nil || !(s > 0) || math.IsInf(s, 0) {
			c.fail(`invalid --speed %q: want a number above 0 or "max"`, f.speed)
		}
	}
	c.writable("json", f.jsonPath)
	c.writable("report", f.reportPath)
	return c.err
}

func runReplay(cmd *cobra.Command, a *app, f replayFlags, files []string) error {
	ctx := cmd.Context()
	if err := f.validate(); err != nil {
		return err
	}
	tuneGC()
	cfg := replay.Config{
		Files: files, Host: f.host, Concurrency: f.concurrency, Rate: f.rate, Limit: f.limit,
		Unsafe: f.unsafe, AgainstRecorded: f.againstRecorded, Read: replay.ReadConfig{MaxBody: f.maxBody},
		NoiseSamples: f.noiseSamples,
	}
	keys, err := loadKeyLog(f.tlsKeylog)
	if err != nil {
		return err
	}
	cfg.Read.TLSKeys = keys
	ucfg, err := upstreamConfig(f.upstreamProto, f.upstreamCA)
	if err != nil {
		return err
	}
	if f.noiseSamples == 0 {
		cfg.NoiseSamples = -1 // the flag's 0 means none; the package's 0 means its default
	}
	if f.speed != "max" {
		s, err := strconv.ParseFloat(f.speed, 64)
		if err != nil || s <= 0 {
			return fmt.Errorf(`invalid --speed %q: want a number above 0 or "max"`, f.speed)
		}
		cfg.Speed = s
	}
	if f.candidate == "" || (f.legacy == "" && !f.againstRecorded) {
		return fmt.Errorf("--candidate and --legacy (or --against-recorded) are required")
	}
	if cfg.Filter, err = replay.ParseFilter(f.filters); err != nil {
		return fmt.Errorf("invalid --filter: %w", err)
	}
	for _, t := range []struct {
		flag, value string
		dst         **url.URL
	}{{"--legacy", f.legacy, &cfg.Legacy}, {"--candidate", f.candidate, &cfg.Candidate}, {"--secondary", f.secondary, &cfg.Secondary}} {
		if t.value == "" || (t.flag == "--legacy" && f.againstRecorded) {
			continue
		}
		u, err := url.Parse(t.value)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("invalid %s %q: want http(s)://host[:port]", t.flag, t.value)
		}
		if err := upstream.Reachable(ctx, u); err != nil {
			return fmt.Errorf("%s: %w", t.flag, err)
		}
		*t.dst = u
	}
	for _, file := range files {
		if _, err := os.Stat(file); err != nil {
			return err
		}
	}
	agg, err := newAggregator(f.rulesPath)
	if err != nil {
		return err
	}
	switch f.progress {
	case "on":
		cfg.Progress = a.stderr
	case "auto":
		if isTerminal(a.stderr) {
			cfg.Progress = a.stderr
		}
	case "off":
	default:
		return fmt.Errorf("invalid --progress %q: want auto, on or off", f.progress)
	}
	cfg.Differents = func() int64 { c, _ := agg.Counts(); return c.Different }
	ucfg.Timeout, ucfg.MaxConnsPerTarget = f.timeout, max(f.concurrency, 16)
	client := upstream.New(ucfg)
	defer client.Close()

	res, runErr := replay.Run(ctx, cfg, client, agg, a.log)
	s := agg.Summary("replay")
	s.PacingMs = res.Pacing
	if s.Extra == nil {
		s.Extra = map[string]json.RawMessage{}
	}
	if b, err := json.Marshal(res.Stats); err == nil {
		s.Extra["reader"] = b
	}
	run := struct {
		Sent    int     `json:"sent"`
		Seconds float64 `json:"seconds"`
		Rate    float64 `json:"rate"`
	}{Sent: res.Sent, Seconds: res.Elapsed.Seconds()}
	if run.Seconds > 0 {
		run.Rate = float64(res.Sent) / run.Seconds
	}
	if b, err := json.Marshal(run); err == nil {
		s.Extra["replay"] = b
	}
	if f.jsonPath != "" {
		if err := writeSummaryFile(f.jsonPath, s); err != nil {
			return err
		}
	}
	read := res.Stats.Requests > 0 || len(res.Stats.Skipped) > 0
	if runErr != nil && !read {
		return runErr // nothing was read: nothing to report
	}
	if f.reportPath != "" {
		if err := writeHTMLReport(f.reportPath, &s); err != nil {
			return err
		}
	}
	if err := reports.Text(a.stdout, &s); err != nil {
		return err
	}
	if runErr != nil {
		// A capture cut short still had requests replayed: they are
		// reported above, and the run could not finish (exit 2).
		return runErr
	}
	if !read {
		return fmt.Errorf("no HTTP requests found in %s", strings.Join(files, ", "))
	}
	if res.Interrupted {
		a.log.Warn().Int("sent", res.Sent).Msg("interrupted: requests not sent are counted as skipped (interrupted)")
	}
	return verdictOf(s)
}
