package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/upstream"
	"github.com/cutover/cutover/tap"
)

type tapFlags struct {
	iface, ports, bpf, read        string
	candidate, secondary, host     string
	concurrency, maxBody, queue    int
	queueBytes                     int64
	timeout, duration, repeatAfter time.Duration
	unsafe, pprof                  bool
	admin, adminTokenFile          string
	jsonPath, rulesPath            string
	reportPath                     string
	tlsKeylog                      string
	upstreamProto, upstreamCA      string
}

func newTapCmd(a *app) *cobra.Command {
	var f tapFlags
	cmd := &cobra.Command{
		Use:   "tap (--interface IFACE [--port P,... | --bpf EXPR] | --read FILE|-) --candidate URL",
		Short: "Read legacy's traffic off the wire, send its requests to the candidate, and compare",
		Long: `tap is a shadow with nothing in the path: legacy's own requests and answers are
read passively from an interface (AF_PACKET, needs root or CAP_NET_RAW) or from
a pcap/pcapng stream (--read -, e.g. tcpdump -w - | cutover tap --read -).
Every complete safe request is sent to the candidate once legacy's answer has
been seen, and the candidate's answer is compared with legacy's.

Noise is learned from the traffic itself (legacy answering the same request
twice within --repeat-window), from --rules, and from --secondary. Legacy's
latency is seen on the wire and the candidate's as sent: both are reported,
latency is judged only against --secondary (sent alike).

What the capture lost is counted in skipped by reason: kernel_drop, gap,
no_response, orphan_response, encrypted, ... The admin API (--admin) is the
mirror's: GET /status, /summary, /window, /metrics, /report and POST /window
(bearer token from --admin-token-file; with a token, reads need it too; Go
profiles at /debug/pprof/ with --pprof), so that cutover rollout --mirror can
gate on a tap while the weight is moved elsewhere. On SIGHUP the summary JSON
is written to --json; on SIGTERM (or --duration, or the end of --read) the
tap stops. Exit code: 0 pass, 1 verdict failed, 2 could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTap(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.iface, "interface", "", "capture live on this interface")
	fl.StringVar(&f.ports, "port", "", "legacy's TCP ports, comma-separated (the capture filter)")
	fl.StringVar(&f.bpf, "bpf", "", "capture filter, a pcap-filter(7) expression (compiled by tcpdump -ddd)")
	fl.StringVar(&f.read, "read", "", `read a pcap/pcapng stream from this file ("-": stdin) instead of an interface`)
	fl.StringVar(&f.candidate, "candidate", "", "candidate base URL (required)")
	fl.StringVar(&f.secondary, "secondary", "", "second legacy base URL: noise, and the side the candidate's latency is judged against")
	fl.StringVar(&f.host, "host", "", "replace every request's Host header")
	fl.IntVar(&f.concurrency, "concurrency", 256, "exchanges in flight at most")
	fl.IntVar(&f.queue, "queue", 16384, "requests waiting for a sender at most; beyond, skipped as queue_full")
	bytesVar(fl, &f.queueBytes, "queue-bytes", 256<<20, "body bytes waiting requests may hold; beyond, skipped as queue_full")
	bytesVar(fl, &f.maxBody, "max-body", 1<<20, "body bytes kept per message; larger requests are skipped as body_over_cap")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of one request to the candidate")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (0: until SIGTERM or the end of --read)")
	fl.DurationVar(&f.repeatAfter, "repeat-window", 5*time.Second, "legacy answering the same request twice within this is learned as noise")
	fl.BoolVar(&f.unsafe, "unsafe", false, "also send POST, PUT, PATCH and DELETE to the candidate")
	fl.StringVar(&f.admin, "admin", "off", `admin API address, e.g. 127.0.0.1:9091 ("off" disables)`)
	fl.StringVar(&f.adminTokenFile, "admin-token-file", "", "file holding the bearer token POST /window needs (and, when set, every read)")
	fl.BoolVar(&f.pprof, "pprof", false, "serve Go profiles on the admin API at /debug/pprof/ (behind the token when one is set)")
	fl.StringVar(&f.jsonPath, "json", "", "write the summary JSON here on exit and on SIGHUP")
	fl.StringVar(&f.rulesPath, "rules", "", "comparison rules (YAML)")
	fl.StringVar(&f.reportPath, "report", "", "write the HTML report here on exit")
	fl.StringVar(&f.tlsKeylog, "tls-keylog", "", tlsKeylogUsage+" (read once, at start)")
	fl.StringVar(&f.upstreamProto, "upstream-proto", "h1", upstreamProtoUsage)
	fl.StringVar(&f.upstreamCA, "upstream-ca", "", upstreamCAUsage)
	return cmd
}

// parsePorts reads --port.
func parsePorts(s string) ([]int, error) {
	var ports []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("invalid --port %q: want ports 1-65535, comma-separated", s)
		}
		ports = append(ports, n)
	}
	return ports, nil
}

func runTap(ctx context.Context, a *app, f tapFlags) error {
	tuneGC()
	cfg := tap.Config{Host: f.host, Concurrency: f.concurrency, QueueSize: f.queue, QueueBytes: f.queueBytes, Unsafe: f.unsafe, RepeatWindow: f.repeatAfter}
	cfg.Read.MaxBody = f.maxBody
	switch {
	case (f.iface == "") == (f.read == ""):
		return errors.New("give one of --interface and --read")
	case f.read != "" && (f.ports != "" || f.bpf != ""):
		return errors.New("--port and --bpf filter a live capture: filter the stream with tcpdump instead")
	case f.ports != "" && f.bpf != "":
		return errors.New("give --port or --bpf, not both")
	case f.candidate == "":
		return errors.New("--candidate is required")
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
	filter := f.bpf
	if f.ports != "" {
		ports, err := parsePorts(f.ports)
		if err != nil {
			return err
		}
		filter = tap.PortFilter(ports)
	}
	for _, t := range []struct {
		flag, value string
		dst         **url.URL
	}{{"--candidate", f.candidate, &cfg.Candidate}, {"--secondary", f.secondary, &cfg.Secondary}} {
		if t.value == "" {
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
	token, err := readToken("--admin-token-file", f.adminTokenFile)
	if err != nil {
		return err
	}
	rules, err := readRules(f.rulesPath)
	if err != nil {
		return err
	}
	res := tap.NewResults(diff.AggregatorConfig{Rules: rules}, cfg.Secondary != nil)

	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	var src tap.Source
	if f.read != "" {
		var r io.Reader = os.Stdin
		name := "stdin"
		if f.read != "-" {
			file, err := os.Open(f.read)
			if err != nil {
				return err
			}
			defer file.Close()
			r, name = file, f.read
		}
		src = tap.Stream{R: r, Name: name}
	} else {
		live, err := tap.OpenLive(ctx, f.iface, filter)
		if err != nil {
			return err
		}
		defer live.Close()
		src = live
	}
	if f.admin != "off" && f.admin != "" {
		ln, err := net.Listen("tcp", f.admin)
		if err != nil {
			return fmt.Errorf("--admin: %w", err)
		}
		srv := &http.Server{Handler: tap.AdminHandler(res, src.Drops, tap.AdminOptions{Token: token, Pprof: f.pprof}, a.log), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(a.stderr, "cutover tap: admin on %s\n", ln.Addr())
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	hupDone := make(chan struct{})
	defer close(hupDone)
	go func() {
		for {
			select {
			case <-hup:
				if f.jsonPath != "" {
					if err := writeSummaryFile(f.jsonPath, res.Summary()); err != nil {
						a.log.Error().Err(err).Msg("SIGHUP: summary not written")
					}
				}
			case <-hupDone:
				return
			}
		}
	}()

	ucfg.Timeout, ucfg.MaxConnsPerTarget = f.timeout, max(f.concurrency, 16)
	client := upstream.New(ucfg)
	defer client.Close()
	out, runErr := tap.Run(ctx, cfg, src, client, res, a.log)
	s := res.Summary()
	if b, err := jsonRaw(out); err == nil {
		s.Extra["tap"] = b
	}
	if err := a.writeResults(f.jsonPath, f.reportPath, &s); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	return verdictOf(s)
}

// readRules reads --rules (nil without one).
func readRules(path string) (*diff.Rules, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	rules, err := diff.ParseRules(data)
	if err != nil {
		return nil, fmt.Errorf("rules %s: %w", path, err)
	}
	return rules, nil
}

func jsonRaw(v any) (json.RawMessage, error) { return json.Marshal(v) }
