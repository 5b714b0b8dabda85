package mirror

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/testbed"
)

// curlRaw fetches url with curl --raw (no decoding, no added
// Accept-Encoding) and returns the header block and the body as sent.
func curlRaw(t *testing.T, url string, header ...string) (head string, body []byte) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed")
		}
		t.Skip("skipping: curl is not installed")
	}
	dir := t.TempDir()
	args := []string{"--raw", "-s", "-D", filepath.Join(dir, "head"), "-o", filepath.Join(dir, "body"), url}
	for _, h := range header {
		args = append(args, "-H", h)
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("curl %s: %v %s", url, err, out)
	}
	h, _ := os.ReadFile(filepath.Join(dir, "head"))
	b, _ := os.ReadFile(filepath.Join(dir, "body"))
	return string(h), b
}

// headerOf is one field of a raw header block, "" when absent.
func headerOf(head, name string) string {
	for _, line := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// alwaysGzip is an upstream that answers every request with the same
// gzip-encoded body whatever the request accepts: 64 MiB of text, 64 KiB
// or so on the wire.
func alwaysGzip(t *testing.T) (addr string, encoded []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	line := bytes.Repeat([]byte("all work and no play makes a proxy dull\n"), 1024)
	for buf.Len() < 64<<10 || zw.Close() != nil {
		zw.Write(line)
		if buf.Len() > 60<<10 {
			break
		}
	}
	zw.Close()
	encoded = buf.Bytes()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(len(encoded)))
		w.Write(encoded)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), encoded
}

// The client gets exactly what the primary sent: an upstream that always
// gzips reaches the client still encoded, with its Content-Length, the
// same bytes through the mirror as from the legacy NGINX/Lua directly
// (curl --raw). Before, the mirror's Transport added Accept-Encoding and
// decoded the answer: 64 KiB on the wire reached the client as megabytes
// with Content-Encoding removed.
func TestClientGetsThePrimaryBytesAsSent(t *testing.T) {
	t.Parallel()
	origin, encoded := alwaysGzip(t)
	if _, err := testbed.FindNGINX(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	legacy, err := testbed.StartNGINX(ctx, zerolog.Nop(), testbed.NGINXConfig{Origin: origin, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer legacy.Stop()
	r := startMirrorTo(t, legacy.URL, legacy.URL, Config{})

	for _, accept := range []string{"", "Accept-Encoding: gzip"} {
		t.Run("gzip upstream, "+cmpOr(accept, "no Accept-Encoding"), func(t *testing.T) {
			var hs []string
			if accept != "" {
				hs = append(hs, accept)
			}
			dh, direct := curlRaw(t, legacy.URL+"/file", hs...)
			vh, via := curlRaw(t, r.url+"/file", hs...)
			if !bytes.Equal(direct, encoded) {
				t.Fatalf("direct: %d bytes, want the %d encoded bytes the upstream sent", len(direct), len(encoded))
			}
			if !bytes.Equal(via, direct) {
				t.Errorf("via mirror %d bytes, direct %d: want the same bytes", len(via), len(direct))
			}
			for _, h := range []string{"Content-Encoding", "Content-Length", "Transfer-Encoding"} {
				if headerOf(vh, h) != headerOf(dh, h) {
					t.Errorf("%s via mirror %q, direct %q", h, headerOf(vh, h), headerOf(dh, h))
				}
			}
		})
	}
}

// Through the test bed's legacy: framing kept (Content-Length stays
// Content-Length, chunked stays chunked), gzip only when the client asks,
// and the origin sees the request's headers as the client sent them, no
// Accept-Encoding added: /echo shows no difference between the sides.
func TestClientPathChangesNothing(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true})
	r := startMirrorTo(t, bed.Legacy.URL, bed.Secondary.URL, Config{})
	for _, p := range []struct {
		path   string
		header []string
	}{
		{"/api/items?page=1", nil},
		{"/api/items?page=1", []string{"Accept-Encoding: gzip"}},
		{"/large", nil},
		{"/stream?chunks=3&delay_ms=5", nil},
	} {
		t.Run(p.path+" "+strings.Join(p.header, ""), func(t *testing.T) {
			dh, direct := curlRaw(t, bed.Legacy.URL+p.path, p.header...)
			vh, via := curlRaw(t, r.url+p.path, p.header...)
			// The JSON carries a request id and a time: compare sizes and
			// framing, and the bytes where the answer is fixed.
			if len(via) != len(direct) && p.path != "/api/items?page=1" {
				t.Errorf("via mirror %d bytes, direct %d", len(via), len(direct))
			}
			if p.path == "/large" && !bytes.Equal(via, direct) {
				t.Errorf("/large: bytes differ")
			}
			for _, h := range []string{"Content-Encoding", "Transfer-Encoding"} {
				if headerOf(vh, h) != headerOf(dh, h) {
					t.Errorf("%s via mirror %q, direct %q", h, headerOf(vh, h), headerOf(dh, h))
				}
			}
			if (headerOf(vh, "Content-Length") == "") != (headerOf(dh, "Content-Length") == "") {
				t.Errorf("Content-Length via mirror %q, direct %q", headerOf(vh, "Content-Length"), headerOf(dh, "Content-Length"))
			}
		})
	}
	t.Run("echo", func(t *testing.T) {
		for range 10 {
			_, body := curlRaw(t, r.url+"/echo")
			var e testbed.EchoReply
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%v: %q", err, body)
			}
			if v, ok := e.Headers["Accept-Encoding"]; ok {
				t.Fatalf("origin saw Accept-Encoding %q the client never sent", v)
			}
		}
		s := waitAccounted(t, r.agg, 14)
		for _, ep := range s.Endpoints {
			for _, f := range ep.Fields {
				if strings.Contains(f.Path, "Accept-Encoding") {
					t.Errorf("%s: %s %s on %d", ep.Endpoint, f.Path, f.Kind, f.Count)
				}
			}
		}
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// rawExchange writes req on a new connection to addr and returns what
// comes back until the server closes or 3s pass.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(bufio.NewReader(c))
	return string(out)
}

func statusOf(raw string) string {
	line, _, _ := strings.Cut(raw, "\r\n")
	if f := strings.Fields(line); len(f) >= 2 {
		return f[1]
	}
	return "none"
}

// Client faults are client faults: a malformed chunked body gets a 400 as
// NGINX gives it (both checked in the test), is sent to neither side and
// counts as skipped client_error; a client that goes away mid-body or
// mid-answer counts as client_aborted. None is a side's error.
func TestClientFaultsAreTheClients(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true})
	for _, unsafe := range []bool{true, false} {
		t.Run(fmt.Sprintf("unsafe %v", unsafe), func(t *testing.T) {
			r := startMirrorTo(t, bed.Legacy.URL, bed.Secondary.URL, Config{Unsafe: unsafe})
			mirrorAddr := strings.TrimPrefix(r.url, "http://")
			malformed := "POST /echo HTTP/1.1\r\nHost: shop.example\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
			nginx, via := statusOf(rawExchange(t, bed.Legacy.Addr, malformed)), statusOf(rawExchange(t, mirrorAddr, malformed))
			if nginx != "400" || via != nginx {
				t.Errorf("malformed chunked body: NGINX %s, mirror %s: want 400 from both", nginx, via)
			}

			// A body cut short: the client closes after 5 of 100 bytes.
			c, err := net.Dial("tcp", mirrorAddr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 100\r\n\r\nhello")
			time.Sleep(50 * time.Millisecond)
			c.Close()

			// An answer cut short: the client reads the first chunk of a
			// slow stream and goes.
			c, err = net.Dial("tcp", mirrorAddr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "GET /stream?chunks=40&delay_ms=25 HTTP/1.1\r\nHost: shop.example\r\n\r\n")
			c.Read(make([]byte, 512))
			c.Close()

			deadline := time.Now().Add(20 * time.Second)
			for r.agg.Summary("mirror").Counts.Requests < 3 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			waitIdle(t, r.m)
			st := r.m.Status()
			s := r.agg.Summary("mirror")
			if err := s.Counts.Check(); err != nil {
				t.Error(err)
			}
			wantSkip := map[string]int64{ReasonClientError: 1, ReasonClientAborted: 2}
			if !unsafe {
				// Served unshadowed; the faults are the client's all the same.
				wantSkip = map[string]int64{ReasonUnsafe: 2, ReasonClientAborted: 1}
			}
			for reason, n := range wantSkip {
				if s.Counts.Skipped[reason] != n {
					t.Errorf("skipped %s %d, want %d: %+v", reason, s.Counts.Skipped[reason], n, s.Counts)
				}
			}
			if f := s.Counts.Failed; f.Legacy+f.Candidate+f.Both != 0 {
				t.Errorf("client faults counted as a side's failure: %+v", f)
			}
			for side, snap := range st.Served {
				if snap.Errors != 0 || snap.TransportErrors != 0 {
					t.Errorf("%s served: %d errors, %d transport errors, want none for client faults", side, snap.Errors, snap.TransportErrors)
				}
			}
		})
	}
}
