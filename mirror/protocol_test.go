package mirror

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cutover test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestHTTP2(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	cert, key := selfSigned(t, t.TempDir())
	tests := []struct {
		name   string
		scfg   ServerConfig
		scheme string
		client *http.Client
	}{
		{"TLS with ALPN h2", ServerConfig{TLSCert: cert, TLSKey: key}, "https", &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true,
		}}},
		{"h2c", ServerConfig{H2C: true}, "http", &http.Client{Transport: &http.Transport{
			Protocols: func() *http.Protocols { p := new(http.Protocols); p.SetUnencryptedHTTP2(true); return p }(),
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startMirror(t, bed, Config{}, tt.scfg)
			resp, err := tt.client.Get(tt.scheme + "://" + r.srv.Addr + "/api/items/3")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			io.Copy(io.Discard, resp.Body)
			if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
				t.Errorf("got %s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
			}
			if s := waitAccounted(t, r.agg, 1); s.Counts.Compared != 1 {
				t.Errorf("counts %+v, want the request compared", s.Counts)
			}
		})
	}
}

// upgradeServer answers a WebSocket-style upgrade with 101 and then echoes
// bytes: a stand-in for a WebSocket endpoint behind the edge.
func upgradeServer(t *testing.T) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			w.WriteHeader(http.StatusOK)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	u, _ := url.Parse("http://" + l.Addr().String())
	return u
}

func TestUpgradesPassToThePrimaryAndAreNotMirrored(t *testing.T) {
	t.Parallel()
	legacy, candidate := upgradeServer(t), upgradeServer(t)
	agg := diff.NewAggregator(diff.AggregatorConfig{})
	m, err := New(Config{Legacy: legacy, Candidate: candidate}, agg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Listen(m, agg, ServerConfig{Listen: "127.0.0.1:0", Admin: "off"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(conn, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("tunnel echoed %q, %v", buf, err)
	}
	conn.Close()
	cancel()
	<-done
	c, _ := agg.Counts()
	if c.Requests != 1 || c.Skipped["upgrade"] != 1 {
		t.Errorf("counts %+v, want the upgrade counted as skipped \"upgrade\"", c)
	}
}
