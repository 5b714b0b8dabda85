package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/rs/zerolog"
)

// ErrNoHAProxy means HAProxy is not installed here (scripts/deps.sh).
var ErrNoHAProxy = errors.New("haproxy is not installed (run 'make test' as root, or apt-get install haproxy)")

// HAProxyConfig says how to start a front door of two servers.
type HAProxyConfig struct {
	// Dir is a directory the instance may own.
	Dir string
	// Legacy and Candidate are the servers' host:port.
	Legacy, Candidate string
	// Balance is the backend's balance line [hash req.hdr(X-User)], with
	// consistent hashing so that runtime weights apply.
	Balance string
	// CandidateWeight is the candidate's starting weight of 200 [0].
	CandidateWeight int
}

// HAProxy is a running HAProxy with backend "app" of servers "legacy" and
// "candidate", and its runtime API on a unix socket and on loopback TCP.
type HAProxy struct {
	// Addr is where clients connect (host:port); URL the same as a base URL.
	Addr, URL string
	// Socket is the runtime API's unix socket; APIAddr its TCP host:port.
	Socket, APIAddr string

	proc *process
}

var haproxyConf = template.Must(template.New("haproxy").Parse(`global
    stats socket {{.Socket}} mode 600 level admin
    stats socket ipv4@{{.APIAddr}} level admin
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind {{.Addr}}
    default_backend app
backend app
    balance {{.Balance}}
    hash-type consistent
    http-reuse always
    server legacy {{.Legacy}} weight {{.LegacyWeight}}
    server candidate {{.Candidate}} weight {{.CandidateWeight}}
`))

// StartHAProxyForTest starts HAProxy for t and stops it when t ends;
// without HAProxy it skips t, except under CI (CI=true), where it fails.
func StartHAProxyForTest(t testing.TB, cfg HAProxyConfig) *HAProxy {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	h, err := StartHAProxy(context.Background(), zerolog.Nop(), cfg)
	if err != nil {
		if errors.Is(err, ErrNoHAProxy) && os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("start haproxy: %v", err)
	}
	t.Cleanup(func() { h.Stop() })
	return h
}

// StartHAProxy writes the config into cfg.Dir and starts HAProxy in the
// foreground; it returns once it accepts connections.
func StartHAProxy(ctx context.Context, log zerolog.Logger, cfg HAProxyConfig) (*HAProxy, error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr != nil {
			return nil, ErrNoHAProxy
		}
		bin = "/usr/sbin/haproxy"
	}
	if cfg.Balance == "" {
		cfg.Balance = "hash req.hdr(X-User)"
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("haproxy dir: %w", err)
	}
	var lastErr error
	for range startAttempts {
		h, err := startHAProxyOnce(ctx, log, bin, cfg)
		if err == nil {
			return h, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "in use") && !strings.Contains(err.Error(), "cannot bind") {
			break
		}
	}
	return nil, lastErr
}

func startHAProxyOnce(ctx context.Context, log zerolog.Logger, bin string, cfg HAProxyConfig) (*HAProxy, error) {
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	api, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	h := &HAProxy{
		Addr:    fmt.Sprintf("127.0.0.1:%d", port),
		Socket:  filepath.Join(cfg.Dir, "admin.sock"),
		APIAddr: fmt.Sprintf("127.0.0.1:%d", api),
	}
	h.URL = "http://" + h.Addr
	var conf bytes.Buffer
	err = haproxyConf.Execute(&conf, map[string]any{"Socket": h.Socket, "APIAddr": h.APIAddr, "Addr": h.Addr,
		"Balance": cfg.Balance, "Legacy": cfg.Legacy, "Candidate": cfg.Candidate,
		"LegacyWeight": 200 - cfg.CandidateWeight, "CandidateWeight": cfg.CandidateWeight})
	if err != nil {
		return nil, fmt.Errorf("render haproxy config: %w", err)
	}
	path := filepath.Join(cfg.Dir, "haproxy.cfg")
	if err := os.WriteFile(path, conf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	os.Remove(h.Socket)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if h.proc, err = startProcess(ctx, cmd, 5*time.Second); err != nil {
		return nil, fmt.Errorf("start haproxy: %w", err)
	}
	for _, addr := range []string{h.Addr, h.APIAddr} {
		if err := waitListening(ctx, addr, h.proc.exited()); err != nil {
			h.Stop()
			return nil, fmt.Errorf("haproxy did not start on %s: %w: %s", addr, err, lastLine(strings.TrimSpace(stderr.String())))
		}
	}
	log.Debug().Str("addr", h.Addr).Msg("haproxy started")
	return h, nil
}

// Stop stops HAProxy and waits for it; it is idempotent.
func (h *HAProxy) Stop() error {
	h.proc.stop()
	return nil
}
