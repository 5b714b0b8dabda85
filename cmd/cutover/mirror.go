package main

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/upstream"
	"github.com/cutover/cutover/mirror"
)

type mirrorFlags struct {
	listen, admin, adminTokenFile  string
	legacy, candidate, secondary   string
	weight, sample                 float64
	splitKey, forceHeader          string
	maxBody                        int64
	queue, workers                 int
	queueBytes, bodyBudget         int64
	memoryLimit                    int64
	noiseSamples                   int
	shadowTimeout, shutdownTimeout time.Duration
	unsafe, h2c                    bool
	tlsCert, tlsKey                string
	jsonPath, rulesPath            string
	reportPath                     string
	readHeaderTimeout, idleTimeout time.Duration
	pprof                          bool
	upstreamProto, upstreamCA      string
}

// validate checks every flag before the mirror starts.
func (f mirrorFlags) validate() error {
	var c check
	c.positive("max-body", f.maxBody)
	c.positive("queue", int64(f.queue))
	c.notNegative("queue-bytes", f.queueBytes) // deprecated: 0 means unset
	c.positive("body-budget", f.bodyBudget)
	if f.memoryLimit < 2*reservedMemory {
		c.fail("invalid --memory-limit %s: must be at least %s", formatBytes(f.memoryLimit), formatBytes(2*reservedMemory))
	}
	if b := cmp.Or(f.queueBytes, f.bodyBudget); c.err == nil && b > (f.memoryLimit-reservedMemory)/2 {
		// Bodies, live or not yet collected, stay within the budget;
		// every connection's buffers and the rest of the heap, which Go
		// lets grow to its limit before collecting (GOGC=400), need the
		// other half of what Go manages.
		c.fail("invalid --body-budget %s: must be at most (--memory-limit - %s) / 2 = %s", formatBytes(b), formatBytes(reservedMemory), formatBytes((f.memoryLimit-reservedMemory)/2))
	}
	c.positive("workers", int64(f.workers))
	c.duration("shadow-timeout", f.shadowTimeout)
	c.duration("shutdown-timeout", f.shutdownTimeout)
	c.duration("read-header-timeout", f.readHeaderTimeout)
	c.duration("idle-timeout", f.idleTimeout)
	c.number("weight", f.weight, 0, 100)
	c.number("sample", f.sample, 0, 100)
	c.writable("json", f.jsonPath)
	c.writable("report", f.reportPath)
	return c.err
}

func newMirrorCmd(a *app) *cobra.Command {
	var f mirrorFlags
	cmd := &cobra.Command{
		Use:   "mirror --listen ADDR --legacy URL --candidate URL [--secondary URL]",
		Short: "Serve live traffic from one side, shadow it to the other, and compare",
		Long: `mirror is a reverse proxy in front of legacy and candidate. Each request is
served by its primary (the candidate for --weight percent of users, sticky by
--split-key) and copied to the other side; both answers are compared. The
shadow never slows, changes or fails the client's answer.

The admin API (--admin) serves GET /status, GET /summary, GET /metrics and
PUT /weight (bearer token from --admin-token-file; with a token, reads need it
too; Go profiles at /debug/pprof/ with --pprof). On SIGHUP and on exit the
summary JSON is written to --json. Exit code: 0 pass, 1 verdict failed, 2 could
not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMirror(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "client-facing address")
	fl.StringVar(&f.legacy, "legacy", "", "legacy base URL (required)")
	fl.StringVar(&f.candidate, "candidate", "", "candidate base URL (required)")
	fl.StringVar(&f.secondary, "secondary", "", "second legacy base URL, to measure noise")
	fl.Float64Var(&f.weight, "weight", 0, "percent of users the candidate serves (0-100)")
	fl.StringVar(&f.splitKey, "split-key", "ip", "what identifies a user: ip, header:NAME or cookie:NAME")
	fl.StringVar(&f.forceHeader, "force-header", "X-Cutover", `request header that pins a request to "legacy" or "candidate" (empty disables)`)
	fl.Float64Var(&f.sample, "sample", 100, "percent of users whose requests are shadowed (0-100)")
	bytesVar(fl, &f.maxBody, "max-body", 1<<20, "largest request or response body compared, in bytes")
	fl.IntVar(&f.queue, "queue", 1024, "shadow copies waiting at most; beyond, dropped as queue_full")
	bytesVar(fl, &f.bodyBudget, "body-budget", 256<<20, "body bytes all requests in flight may hold for comparison; beyond, served but skipped as body_budget")
	bytesVar(fl, &f.memoryLimit, "memory-limit", 1<<30, "bytes of memory the mirror should use in all (resident: Go's soft limit plus 32 MiB for the binary and memory outside Go's heap; GOMEMLIMIT wins): at least 32 MiB more than twice --body-budget")
	bytesVar(fl, &f.queueBytes, "queue-bytes", 0, "former name of --body-budget")
	_ = fl.MarkDeprecated("queue-bytes", "use --body-budget")
	fl.IntVar(&f.noiseSamples, "noise-samples", diff.DefaultNoiseSamples, noiseSamplesUsage)
	fl.IntVar(&f.workers, "workers", 64, "shadow senders")
	fl.DurationVar(&f.shadowTimeout, "shadow-timeout", 10*time.Second, "timeout of one shadow exchange")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "wait for in-flight requests on shutdown")
	fl.BoolVar(&f.unsafe, "unsafe", false, "also shadow POST, PUT, PATCH and DELETE")
	fl.StringVar(&f.admin, "admin", "127.0.0.1:9090", `admin API address ("off" disables)`)
	fl.StringVar(&f.adminTokenFile, "admin-token-file", "", "file holding the bearer token admin changes need")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate (PEM) to serve HTTPS and HTTP/2")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS key (PEM)")
	fl.BoolVar(&f.h2c, "h2c", false, "also accept HTTP/2 without TLS")
	fl.StringVar(&f.upstreamProto, "upstream-proto", "h1", upstreamProtoUsage)
	fl.StringVar(&f.upstreamCA, "upstream-ca", "", upstreamCAUsage)
	fl.StringVar(&f.jsonPath, "json", "", "write the summary JSON here on exit and on SIGHUP")
	fl.StringVar(&f.rulesPath, "rules", "", "comparison rules (YAML)")
	fl.StringVar(&f.reportPath, "report", "", "write the HTML report here on exit")
	fl.DurationVar(&f.readHeaderTimeout, "read-header-timeout", 60*time.Second, "close a client connection whose request head takes longer (NGINX's client_header_timeout)")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 65*time.Second, "close a keep-alive client connection idle this long (NGINX's keepalive_timeout)")
	fl.BoolVar(&f.pprof, "pprof", false, "serve Go profiles on the admin API at /debug/pprof/ (behind the token when one is set)")
	return cmd
}

func runMirror(ctx context.Context, a *app, f mirrorFlags) error {
	if err := f.validate(); err != nil {
		return err
	}
	tuneGC()
	if os.Getenv("GOMEMLIMIT") == "" {
		// Bodies held for comparison are bounded by their budget, at most
		// half of the limit; the collector keeps garbage within the rest,
		// less what the runtime does not manage.
		debug.SetMemoryLimit(f.memoryLimit - reservedMemory)
	}
	cfg := mirror.Config{
		Weight: f.weight, SplitKey: f.splitKey, ForceHeader: f.forceHeader, Sample: &f.sample,
		MaxBody: f.maxBody, QueueSize: f.queue, BodyBudget: cmp.Or(f.queueBytes, f.bodyBudget), Workers: f.workers, ShadowTimeout: f.shadowTimeout, Unsafe: f.unsafe,
		NoiseSamples: f.noiseSamples,
	}
	if f.noiseSamples == 0 {
		cfg.NoiseSamples = -1 // the flag's 0 means none; the package's 0 means its default
	}
	ucfg, err := upstreamConfig(f.upstreamProto, f.upstreamCA)
	if err != nil {
		return err
	}
	cfg.UpstreamProto, cfg.UpstreamTLS = ucfg.Proto, ucfg.TLS
	for _, t := range []struct {
		flag, value string
		dst         **url.URL
	}{{"--legacy", f.legacy, &cfg.Legacy}, {"--candidate", f.candidate, &cfg.Candidate}, {"--secondary", f.secondary, &cfg.Secondary}} {
		if t.value == "" {
			continue
		}
		if *t.dst, err = url.Parse(t.value); err != nil {
			return fmt.Errorf("%s: %w", t.flag, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid flags: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	token, err := readToken("--admin-token-file", f.adminTokenFile)
	if err != nil {
		return err
	}
	agg, err := newAggregator(f.rulesPath)
	if err != nil {
		return err
	}
	m, err := mirror.New(cfg, agg, a.log)
	if err != nil {
		return err
	}
	summary := func() diff.Summary { return agg.Summary("mirror") }
	srv, err := mirror.Listen(m, agg, mirror.ServerConfig{
		Listen: f.listen, Admin: f.admin, AdminToken: token,
		TLSCert: f.tlsCert, TLSKey: f.tlsKey, H2C: f.h2c, ShutdownTimeout: f.shutdownTimeout,
		ReadHeaderTimeout: f.readHeaderTimeout, IdleTimeout: f.idleTimeout, Pprof: f.pprof,
	}, a.log)
	if err != nil {
		m.Close(ctx)
		return err
	}
	for _, t := range []struct {
		name string
		u    *url.URL
	}{{"legacy", cfg.Legacy}, {"candidate", cfg.Candidate}, {"secondary", cfg.Secondary}} {
		if t.u == nil {
			continue
		}
		if err := upstream.Reachable(ctx, t.u); err != nil {
			srv.Close()
			m.Close(ctx)
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	adminAddr := srv.AdminAddr
	if adminAddr == "" {
		adminAddr = "off"
	}
	fmt.Fprintf(a.stderr, "cutover mirror: listening on %s, admin on %s\n", srv.Addr, adminAddr)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	for {
		select {
		case <-hup:
			if f.jsonPath != "" {
				if err := writeSummaryFile(f.jsonPath, summary()); err != nil {
					a.log.Error().Err(err).Msg("SIGHUP: summary not written")
				} else {
					a.log.Info().Str("path", f.jsonPath).Msg("SIGHUP: summary written")
				}
			}
		case err := <-done:
			if err != nil {
				return fmt.Errorf("mirror: %w", err)
			}
			s := summary()
			if err := a.writeResults(f.jsonPath, f.reportPath, &s); err != nil {
				return err
			}
			return verdictOf(s)
		}
	}
}

// noiseSamplesUsage is the one help text of --noise-samples on mirror and
// replay, which learn noise alike.
const noiseSamplesUsage = "without --secondary: send this many requests (GET, HEAD) to legacy a second time to learn its own noise (0: none)"
