package mirror

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/testbed"
)

// framingCases are raw requests NGINX refuses for their framing (RFC 9112
// §6.1, §6.3), and a few it serves, each followed by a second request that
// a desynchronised reader would serve as well.
var framingCases = []struct {
	name, raw string
	refused   bool
}{
	{"CL and TE", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 43\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/items/9 HTTP/1.1\r\nHost: x\r\n\r\n", true},
	{"obs-folded TE", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\nGET /api/items/9 HTTP/1.1\r\nHost: x\r\n\r\n", true},
	{"obs-folded other header", "GET /api/items/1 HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", true},
	{"TE on HTTP/1.0", "POST /echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
	{"TE with CL on HTTP/1.0", "POST /echo HTTP/1.0\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
	{"two identical CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nabGET /api/items/9 HTTP/1.1\r\nHost: x\r\n\r\n", true},
	{"two different CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", true},
	{"CL list", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab", true},
	{"CL with sign", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nab", true},
	{"CL too large", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", true},
	{"TE gzip, chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", true},
	{"TE identity with CL", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nab", true},
	{"TE after a tab", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\nGET /api/items/9 HTTP/1.1\r\nHost: x\r\n\r\n", true},
	{"two TE", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
	{"space before colon", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", true},
	{"two Host", "GET /api/items/1 HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", true},
	{"chunked then next", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /api/items/9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
	{"Chunked capitalised", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked \r\n\r\n0\r\n\r\nGET /api/items/9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
	{"CL then next", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nabGET /api/items/9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
	{"empty lines first", "\r\n\r\nGET /api/items/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
}

var statusLine = regexp.MustCompile(`HTTP/1\.[01] (\d\d\d)`)

// exchangeRaw writes raw to addr and reads until the server closes (or
// 3 s of silence): the statuses it answered, and whether it closed.
func exchangeRaw(t *testing.T, addr, raw string) (statuses []string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return exchangeOn(t, c, raw)
}

// exchangeTLS is exchangeRaw over TLS with ALPN http/1.1.
func exchangeTLS(t *testing.T, addr string, roots *x509.CertPool, raw string) (statuses []string, closed bool) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return exchangeOn(t, c, raw)
}

func exchangeOn(t *testing.T, c net.Conn, raw string) (statuses []string, closed bool) {
	t.Helper()
	defer c.Close()
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	closed = err == nil || !(errors.As(err, &ne) && ne.Timeout())
	for _, m := range statusLine.FindAllStringSubmatch(string(b), -1) {
		statuses = append(statuses, m[1])
	}
	return statuses, closed
}

// TestFramingRefusedAsNGINXDoes sends the same bytes to the real NGINX/Lua
// legacy and to the mirror: both must answer the same statuses and close
// (or keep) the connection alike, and a refused request reaches neither
// side and is counted as skipped.
func TestFramingRefusedAsNGINXDoes(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	r := startMirror(t, bed, Config{Unsafe: true}, ServerConfig{})
	legacyAddr := strings.TrimPrefix(bed.Legacy.URL, "http://")
	refused := 0
	for _, tt := range framingCases {
		t.Run(tt.name, func(t *testing.T) {
			before := r.m.Status().Served
			wantS, wantClosed := exchangeRaw(t, legacyAddr, tt.raw)
			gotS, gotClosed := exchangeRaw(t, r.srv.Addr, tt.raw)
			if diff := cmp.Diff(wantS, gotS); diff != "" {
				t.Errorf("statuses (-nginx +mirror):\n%s", diff)
			}
			if wantClosed != gotClosed {
				t.Errorf("nginx closed %v, mirror closed %v", wantClosed, gotClosed)
			}
			if tt.refused != (len(wantS) == 1 && wantS[0] >= "400") {
				t.Errorf("nginx answered %v: the case's refused=%v is wrong", wantS, tt.refused)
			}
			if !tt.refused {
				return
			}
			refused++
			after := r.m.Status().Served
			for side, s := range after {
				if s.Requests != before[side].Requests {
					t.Errorf("%s served %d requests of a refused one", side, s.Requests-before[side].Requests)
				}
			}
		})
	}
	s := waitAccounted(t, r.agg, int64(len(framingCases)))
	if got := s.Counts.Skipped[SkipFraming]; got != int64(refused) {
		t.Errorf("skipped %s = %d, want %d", SkipFraming, got, refused)
	}
}

// TestFramingRefusedOverTLSAsNGINXDoes is the same over TLS (--tls-cert):
// the reference is an NGINX front terminating TLS before the same legacy.
// HTTP/2 on the same listener is still served.
func TestFramingRefusedOverTLSAsNGINXDoes(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	dir := t.TempDir()
	front, err := testbed.StartFront(t.Context(), zerolog.Nop(), testbed.FrontConfig{
		Upstream: strings.TrimPrefix(bed.Legacy.URL, "http://"), Dir: filepath.Join(dir, "front"), TLS: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer front.Stop()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, front.Cert.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	r := startMirror(t, bed, Config{Unsafe: true}, ServerConfig{TLSCert: front.CertFile, TLSKey: keyFile})
	refused := 0
	for _, tt := range framingCases {
		t.Run(tt.name, func(t *testing.T) {
			before := r.m.Status().Served
			wantS, wantClosed := exchangeTLS(t, front.Addr, front.Cert.Pool, tt.raw)
			gotS, gotClosed := exchangeTLS(t, r.srv.Addr, front.Cert.Pool, tt.raw)
			if diff := cmp.Diff(wantS, gotS); diff != "" {
				t.Errorf("statuses (-nginx +mirror):\n%s", diff)
			}
			if wantClosed != gotClosed {
				t.Errorf("nginx closed %v, mirror closed %v", wantClosed, gotClosed)
			}
			if !tt.refused {
				return
			}
			refused++
			for side, s := range r.m.Status().Served {
				if s.Requests != before[side].Requests {
					t.Errorf("%s served %d requests of a refused one", side, s.Requests-before[side].Requests)
				}
			}
		})
	}
	// Both protocols still served on the listener, and the sides told the
	// client came over TLS (origin's /echo, with no NGINX to set it).
	origin, _ := url.Parse(bed.Origin.URL)
	ro := startMirror(t, bed, Config{Legacy: origin, Candidate: origin}, ServerConfig{TLSCert: front.CertFile, TLSKey: keyFile})
	for _, h2 := range []bool{false, true} {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: front.Cert.Pool}, ForceAttemptHTTP2: h2}}
		resp, err := c.Get("https://" + ro.srv.Addr + "/echo")
		if err != nil {
			t.Fatal(err)
		}
		var echo testbed.EchoReply
		err = json.NewDecoder(resp.Body).Decode(&echo)
		resp.Body.Close()
		if err != nil || resp.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] || resp.StatusCode != http.StatusOK {
			t.Errorf("h2 %v on the TLS listener: got %s %d (%v)", h2, resp.Proto, resp.StatusCode, err)
		}
		if diff := cmp.Diff([]string{"https"}, echo.Headers["X-Forwarded-Proto"]); diff != "" {
			t.Errorf("h2 %v: X-Forwarded-Proto (-want +got):\n%s", h2, diff)
		}
	}
	s := waitAccounted(t, r.agg, int64(len(framingCases)))
	if got := s.Counts.Skipped[SkipFraming]; got != int64(refused) {
		t.Errorf("skipped %s = %d, want %d", SkipFraming, got, refused)
	}
}

func TestCheckHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		head    string
		status  int
		chunked bool
		length  int64
	}{
		{"GET / HTTP/1.1\r\nHost: x", 0, false, 0},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12", 0, false, 12},
		{"POST / HTTP/1.1\nHost: x\ntransfer-encoding: chunked", 0, true, 0},
		{"POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1", 400, false, 0},
		{"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked", 400, false, 0},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked", 400, false, 0},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: br", 501, false, 0},
		{"POST / HTTP/1.1\r\nContent-Length: 0x1", 400, false, 0},
		{"POST / HTTP/1.1\r\nX: a\r\n\tb", 400, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.head, func(t *testing.T) {
			ref, chunked, length := CheckHead([]byte(tt.head))
			status := 0
			if ref != nil {
				status = ref.Status
			}
			if status != tt.status || chunked != tt.chunked || length != tt.length {
				t.Errorf("got %d %v %d, want %d %v %d", status, chunked, length, tt.status, tt.chunked, tt.length)
			}
		})
	}
}

// pipe is a net.Conn whose reads come from a reader, in the sizes given.
type pipe struct {
	net.Conn
	r     io.Reader
	sizes []byte
}

func (p *pipe) Read(b []byte) (int, error) {
	n := len(b)
	if len(p.sizes) > 0 {
		n = min(n, int(p.sizes[0])+1)
		p.sizes = p.sizes[1:]
	}
	return p.r.Read(b[:n])
}

// FuzzFramingConn: whatever the bytes and however they arrive, the
// connection hands on the input unchanged up to a refused head, then only
// the synthetic head; it never panics or loops.
func FuzzFramingConn(f *testing.F) {
	for _, tt := range framingCases {
		f.Add([]byte(tt.raw), []byte{3, 200, 7, 1})
	}
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00"), []byte{5})
	f.Add([]byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nanything"), []byte{})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		c := &framingConn{Conn: &pipe{r: bytes.NewReader(data), sizes: sizes}}
		var out []byte
		buf := make([]byte, 97)
		for i := 0; ; i++ {
			n, err := c.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
			if i > 10*len(data)+10 {
				t.Fatal("reads do not end")
			}
		}
		if ref, _, _ := c.refused(); ref != nil {
			i := bytes.Index(out, []byte(refusedHead))
			if i < 0 || i+len(refusedHead) != len(out) {
				t.Fatalf("refused, but the synthetic head does not end what was handed on: %q", out)
			}
			out = out[:i]
		}
		// Empty lines before a head are dropped; nothing else is changed.
		noEOL := func(b []byte) []byte {
			return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), nil), []byte("\n"), nil)
		}
		if !bytes.HasPrefix(noEOL(data), noEOL(out)) {
			t.Fatalf("handed on %q, not a prefix of %q", out, data)
		}
	})
}
