package testbed

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/rs/zerolog"
)

//go:embed nginx/legacy.conf.tmpl nginx/edge.lua nginx/rules.yaml
var nginxFiles embed.FS

// ErrNoNGINX means NGINX or its Lua module is not installed here.
// `make test` installs both (scripts/deps.sh).
var ErrNoNGINX = errors.New("nginx with the lua module is not installed (run 'make test' as root, or apt-get install nginx-light libnginx-mod-http-lua)")

const (
	defaultModulesDir = "/usr/lib/nginx/modules"
	startTimeout      = 10 * time.Second
	startAttempts     = 5
)

// NGINXConfig says how to start one legacy instance.
type NGINXConfig struct {
	// Origin is the host:port NGINX proxies to.
	Origin string
	// Dir is a directory the instance may own (config, logs, temp files).
	Dir string
	// Binary is the nginx executable; empty means look it up.
	Binary string
	// ModulesDir holds ndk_http_module.so and ngx_http_lua_module.so; empty
	// means Debian's /usr/lib/nginx/modules.
	ModulesDir string
	// IPv6 also listens on [::1] at the same port, when the host has IPv6.
	IPv6 bool
	// HTTPIncludes and ServerIncludes are files included in the http and
	// server blocks; LocationInclude, when set, replaces the proxying
	// location's proxy_pass (a front door's split, e.g. rollout/nginxsplit).
	HTTPIncludes, ServerIncludes []string
	LocationInclude              string
}

// NGINX is a running legacy instance: the real NGINX with the Lua module.
type NGINX struct {
	// Addr is the loopback host:port it listens on; URL the same as a base URL.
	Addr string
	URL  string
	// AddrV6 is "[::1]:port" when it also listens on IPv6, else empty.
	AddrV6 string
	// AccessLog is the path of its JSON-lines access log (the oracle for
	// what requests it received).
	AccessLog string
	// ErrorLog is the path of its error log.
	ErrorLog string

	proc *process
}

// FindNGINX returns the nginx binary and checks that the Lua module is there.
func FindNGINX(modulesDir string) (string, error) {
	if modulesDir == "" {
		modulesDir = defaultModulesDir
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			return "", ErrNoNGINX
		}
	}
	for _, m := range []string{"ndk_http_module.so", "ngx_http_lua_module.so"} {
		if _, err := os.Stat(filepath.Join(modulesDir, m)); err != nil {
			return "", ErrNoNGINX
		}
	}
	return bin, nil
}

// StartNGINX renders the legacy config into cfg.Dir and starts NGINX on a
// free loopback port. It returns once NGINX accepts connections. The
// instance stops when ctx is done or Stop is called.
func StartNGINX(ctx context.Context, log zerolog.Logger, cfg NGINXConfig) (*NGINX, error) {
	bin := cfg.Binary
	if bin == "" {
		var err error
		if bin, err = FindNGINX(cfg.ModulesDir); err != nil {
			return nil, err
		}
	}
	if cfg.ModulesDir == "" {
		cfg.ModulesDir = defaultModulesDir
	}
	if err := writeNGINXFiles(cfg.Dir); err != nil {
		return nil, err
	}
	// A port picked free can be taken before NGINX binds it: try again.
	var lastErr error
	for range startAttempts {
		n, err := startNGINXOnce(ctx, log, bin, cfg)
		if err == nil {
			return n, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	return nil, lastErr
}

func writeNGINXFiles(dir string) error {
	lua, err := nginxFiles.ReadFile("nginx/edge.lua")
	if err != nil {
		return fmt.Errorf("read embedded edge.lua: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("nginx dir: %w", err)
	}
	// NGINX workers may run as another user: they must read the Lua code
	// and write their temp files.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("nginx dir: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "edge.lua"), lua, 0o644)
}

type nginxTemplateData struct {
	AsRoot     bool
	Prefix     string
	ModulesDir string
	LuaDir     string
	Origin     string
	Listen     string
	ListenV6   string

	HTTPIncludes, ServerIncludes []string
	LocationInclude              string
}

func startNGINXOnce(ctx context.Context, log zerolog.Logger, bin string, cfg NGINXConfig) (*NGINX, error) {
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	data := nginxTemplateData{
		AsRoot:     os.Geteuid() == 0,
		Prefix:     cfg.Dir,
		ModulesDir: cfg.ModulesDir,
		LuaDir:     cfg.Dir,
		Origin:     cfg.Origin,
		Listen:     fmt.Sprintf("127.0.0.1:%d", port),

		HTTPIncludes:    cfg.HTTPIncludes,
		ServerIncludes:  cfg.ServerIncludes,
		LocationInclude: cfg.LocationInclude,
	}
	if cfg.IPv6 && ipv6Available(port) {
		data.ListenV6 = fmt.Sprintf("[::1]:%d", port)
	}
	conf := filepath.Join(cfg.Dir, "nginx.conf")
	if err := renderNGINXConfig(conf, data); err != nil {
		return nil, err
	}
	n := &NGINX{
		Addr:      data.Listen,
		URL:       "http://" + data.Listen,
		AddrV6:    data.ListenV6,
		AccessLog: filepath.Join(cfg.Dir, "access.log"),
		ErrorLog:  filepath.Join(cfg.Dir, "error.log"),
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-p", cfg.Dir, "-c", conf, "-e", n.ErrorLog)
	cmd.Stderr = &stderr
	// SIGTERM is NGINX's fast shutdown.
	if n.proc, err = startProcess(ctx, cmd, 5*time.Second); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	if err := waitListening(ctx, n.Addr, n.proc.exited()); err != nil {
		n.Stop()
		msg := strings.TrimSpace(stderr.String())
		if b, rerr := os.ReadFile(n.ErrorLog); rerr == nil && len(b) > 0 {
			msg = strings.TrimSpace(msg + " " + string(b))
		}
		return nil, fmt.Errorf("nginx did not start on %s: %w: %s", n.Addr, err, lastLine(msg))
	}
	log.Debug().Str("addr", n.Addr).Str("dir", cfg.Dir).Msg("legacy nginx started")
	return n, nil
}

func renderNGINXConfig(path string, data nginxTemplateData) error {
	src, err := nginxFiles.ReadFile("nginx/legacy.conf.tmpl")
	if err != nil {
		return fmt.Errorf("read embedded nginx config: %w", err)
	}
	tmpl, err := template.New("nginx").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return fmt.Errorf("parse nginx config template: %w", err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return fmt.Errorf("render nginx config: %w", err)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// Stop asks NGINX to shut down quickly and waits for it; it is idempotent.
func (n *NGINX) Stop() error {
	n.proc.stop()
	return nil
}

// waitListening polls addr until it accepts a connection, the process
// exits, or the start timeout passes.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("process exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %s", startTimeout)
		}
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
