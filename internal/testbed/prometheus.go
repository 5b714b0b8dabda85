package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ErrNoPrometheus means Prometheus is not installed here (scripts/deps.sh).
var ErrNoPrometheus = errors.New("prometheus is not installed (run 'make test' as root, or apt-get install prometheus)")

// PrometheusConfig says what a Prometheus scrapes.
type PrometheusConfig struct {
	// Dir holds its config and its storage.
	Dir string
	// Targets are host:port of /metrics endpoints, one job "cutover".
	Targets []string
	// ScrapeInterval [1s].
	ScrapeInterval time.Duration
	// BearerToken is sent with every scrape (a mirror's admin token guards
	// its /metrics) [none].
	BearerToken string
}

// Prometheus is a running Prometheus server.
type Prometheus struct {
	// URL is its HTTP API's base URL.
	URL string

	cfg  PrometheusConfig
	proc *process
}

// StartPrometheusForTest starts Prometheus for t and stops it when t ends;
// without Prometheus it skips t, except under CI (CI=true), where it fails.
func StartPrometheusForTest(t testing.TB, cfg PrometheusConfig) *Prometheus {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	p, err := StartPrometheus(context.Background(), cfg)
	if err != nil {
		if errors.Is(err, ErrNoPrometheus) && os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// StartPrometheus writes a config scraping cfg.Targets and starts
// Prometheus on a free loopback port; it returns once it is ready.
func StartPrometheus(ctx context.Context, cfg PrometheusConfig) (*Prometheus, error) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		return nil, ErrNoPrometheus
	}
	if cfg.ScrapeInterval <= 0 {
		cfg.ScrapeInterval = time.Second
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("global:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n  - job_name: cutover\n    static_configs:\n      - targets: ['%s']\n",
		cfg.ScrapeInterval, cfg.ScrapeInterval, strings.Join(cfg.Targets, "', '"))
	if cfg.BearerToken != "" {
		conf += fmt.Sprintf("    authorization: {credentials: %q}\n", cfg.BearerToken)
	}
	path := filepath.Join(cfg.Dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	var lastErr error
	for range startAttempts {
		p, err := startPrometheusOnce(ctx, bin, path, cfg)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func startPrometheusOnce(ctx context.Context, bin, conf string, cfg PrometheusConfig) (*Prometheus, error) {
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := &Prometheus{URL: "http://" + addr, cfg: cfg}
	var out bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(cfg.Dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	if p.proc, err = startProcess(ctx, cmd, 10*time.Second); err != nil {
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.proc.exited():
			return nil, fmt.Errorf("prometheus exited: %s", lastLine(strings.TrimSpace(out.String())))
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("prometheus not ready after 30s: %s", lastLine(strings.TrimSpace(out.String())))
		}
	}
}

// Stop stops Prometheus and waits for it; it is idempotent.
func (p *Prometheus) Stop() error {
	p.proc.stop()
	return nil
}
