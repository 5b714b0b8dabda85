package testbed

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/rs/zerolog"
)

// Cert is a self-signed certificate for 127.0.0.1 and localhost, made at
// test time: nothing secret is ever committed.
type Cert struct {
	CertPEM, KeyPEM []byte
	Pool            *x509.CertPool // trusts it, for Go clients
	TLS             tls.Certificate
}

// NewCert makes a fresh ECDSA P-256 certificate valid for an hour.
func NewCert() (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certificate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "cutover test bed"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certificate key: %w", err)
	}
	c := &Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		Pool:    x509.NewCertPool(),
	}
	c.Pool.AppendCertsFromPEM(c.CertPEM)
	if c.TLS, err = tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return c, nil
}

// FrontConfig says how to start an NGINX front door.
type FrontConfig struct {
	// Upstream is the host:port it proxies to over HTTP/1.1.
	Upstream string
	// Dir is a directory the instance may own.
	Dir string
	// TLS serves HTTPS (TLS 1.2 and 1.3, HTTP/2 by ALPN and HTTP/1.1) on
	// a certificate made at start; without it the front speaks h2c with
	// prior knowledge only, as `listen ... http2` does.
	TLS bool
}

// Front is a running NGINX front door: plain NGINX (no Lua), TLS and
// HTTP/2 on loopback.
type Front struct {
	Addr string
	URL  string // https://127.0.0.1:port, or http:// for h2c
	Cert *Cert  // nil for h2c
	// CertFile is the certificate's PEM file (curl --cacert).
	CertFile string

	proc *process
}

const frontConf = `{{if .AsRoot}}user root root;
{{end}}daemon off;
master_process on;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path {{.Dir}}/client_body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    upstream back { server {{.Upstream}}; keepalive 8; }
    server {
        listen {{.Listen}}{{if .TLS}} ssl{{end}} http2;
        {{- if .TLS}}
        ssl_certificate {{.Dir}}/cert.pem;
        ssl_certificate_key {{.Dir}}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
        ssl_session_tickets off;
        {{- end}}
        location / {
            proxy_pass http://back;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }
    }
}
`

// StartFront starts an NGINX front door on a free loopback port and
// returns once it accepts connections; it stops when ctx is done or Stop
// is called. ErrNoNGINX when NGINX is not installed.
func StartFront(ctx context.Context, log zerolog.Logger, cfg FrontConfig) (*Front, error) {
	bin, err := FindNGINX("")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("front dir: %w", err)
	}
	f := &Front{}
	if cfg.TLS {
		if f.Cert, err = NewCert(); err != nil {
			return nil, err
		}
		f.CertFile = filepath.Join(cfg.Dir, "cert.pem")
		if err := os.WriteFile(f.CertFile, f.Cert.CertPEM, 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(cfg.Dir, "key.pem"), f.Cert.KeyPEM, 0o600); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for range startAttempts {
		if lastErr = f.start(ctx, bin, cfg); lastErr == nil {
			log.Debug().Str("addr", f.Addr).Bool("tls", cfg.TLS).Msg("front nginx started")
			return f, nil
		}
		if !strings.Contains(lastErr.Error(), "Address already in use") {
			break
		}
	}
	return nil, lastErr
}

func (f *Front) start(ctx context.Context, bin string, cfg FrontConfig) error {
	port, err := freePort("127.0.0.1")
	if err != nil {
		return err
	}
	f.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	f.URL = "http://" + f.Addr
	if cfg.TLS {
		f.URL = "https://" + f.Addr
	}
	var conf bytes.Buffer
	err = template.Must(template.New("front").Parse(frontConf)).Execute(&conf, map[string]any{
		"AsRoot": os.Geteuid() == 0, "Dir": cfg.Dir, "Upstream": cfg.Upstream, "Listen": f.Addr, "TLS": cfg.TLS,
	})
	if err != nil {
		return fmt.Errorf("render front config: %w", err)
	}
	path := filepath.Join(cfg.Dir, "nginx.conf")
	if err := os.WriteFile(path, conf.Bytes(), 0o644); err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-p", cfg.Dir, "-c", path, "-e", filepath.Join(cfg.Dir, "error.log"))
	cmd.Stderr = &stderr
	if f.proc, err = startProcess(ctx, cmd, 5*time.Second); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	if err := waitListening(ctx, f.Addr, f.proc.exited()); err != nil {
		f.Stop()
		msg := stderr.String()
		if b, rerr := os.ReadFile(filepath.Join(cfg.Dir, "error.log")); rerr == nil {
			msg += " " + string(b)
		}
		return fmt.Errorf("front nginx did not start on %s: %w: %s", f.Addr, err, lastLine(msg))
	}
	return nil
}

// Stop shuts the front down and waits for it; it is idempotent.
func (f *Front) Stop() {
	f.proc.stop()
}
