package upstream

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDoCapturesTheAnswerAsSent(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	c := New(Config{MaxBody: 1 << 20, Header: http.Header{"X-Cutover-Shadow": {"1"}}})
	defer c.Close()
	legacy := mustURL(t, bed.Legacy.URL)

	t.Run("gzip kept encoded, timing set", func(t *testing.T) {
		r := c.Do(context.Background(), legacy, &diff.Request{Method: "GET", URI: "/api/items?page=2", Header: http.Header{"Accept-Encoding": {"gzip"}}})
		if r.Err != "" || r.Status != 200 {
			t.Fatalf("got status %d err %q", r.Status, r.Err)
		}
		if r.Header.Get("Content-Encoding") != "gzip" || len(r.Body) < 2 || r.Body[0] != 0x1f || r.Body[1] != 0x8b {
			t.Errorf("want the gzip bytes as sent, got Content-Encoding %q and %d bytes", r.Header.Get("Content-Encoding"), len(r.Body))
		}
		if r.TTFB <= 0 || r.Total < r.TTFB {
			t.Errorf("timing TTFB %v Total %v", r.TTFB, r.Total)
		}
	})
	t.Run("request as given reaches origin", func(t *testing.T) {
		r := c.Do(context.Background(), legacy, &diff.Request{
			Method: "POST", URI: "/echo?a=1", Host: "shop.example",
			Header: http.Header{"Content-Type": {"text/plain"}, "Connection": {"close"}},
			Body:   []byte("payload"),
		})
		var got testbed.EchoReply
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatalf("%v: %q", err, r.Body)
		}
		want := testbed.EchoReply{Method: "POST", URI: "/echo?a=1", Host: "shop.example", Body: "payload"}
		if diff := cmp.Diff(want, got, cmpIgnoreHeaders); diff != "" {
			t.Errorf("origin saw (-want +got):\n%s", diff)
		}
		if got.Headers["X-Cutover-Shadow"] == nil || got.Headers["User-Agent"] != nil {
			t.Errorf("headers at origin = %v: want the configured X-Cutover-Shadow and no Go User-Agent", got.Headers)
		}
	})
	t.Run("body over the cap is truncated and marked", func(t *testing.T) {
		r := c.Do(context.Background(), legacy, &diff.Request{Method: "GET", URI: "/large"})
		if r.Err != "" || len(r.Body) != 1<<20 || !r.BodyTruncated {
			t.Errorf("got %d bytes, truncated %v, err %q; want 1 MiB kept and truncated", len(r.Body), r.BodyTruncated, r.Err)
		}
	})
	t.Run("redirects are answers, not followed", func(t *testing.T) {
		r := c.Do(context.Background(), legacy, &diff.Request{Method: "GET", URI: "/old-page"})
		if r.Err != "" || r.Status != http.StatusMovedPermanently || r.Header.Get("Location") != "/page" {
			t.Errorf("got %d %q", r.Status, r.Err)
		}
	})
}

var cmpIgnoreHeaders = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Headers" }, cmp.Ignore())

func TestDoReportsTransportFailures(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	candidate := mustURL(t, bed.Candidate.URL)
	req := &diff.Request{Method: "GET", URI: "/api/items/1"}

	tests := []struct {
		name     string
		switches testbed.Switches
		timeout  time.Duration
		want     []string // any of
	}{
		{"reset", testbed.Switches{ResetRate: 1}, 0, []string{"connection reset by peer", "EOF"}},
		{"timeout", testbed.Switches{Latency: testbed.Latency{Fixed: testbed.Duration(2 * time.Second)}}, 100 * time.Millisecond, []string{"timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := bed.Candidate.SetSwitches(tt.switches); err != nil {
				t.Fatal(err)
			}
			c := New(Config{Timeout: tt.timeout})
			defer c.Close()
			r := c.Do(context.Background(), candidate, req)
			if r.Status != 0 || !containsAny(r.Err, tt.want) {
				t.Errorf("got status %d err %q, want a failure like %q", r.Status, r.Err, tt.want)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		bed.Candidate.Stop()
		c := New(Config{})
		r := c.Do(context.Background(), candidate, req)
		if r.Err != "connection refused" {
			t.Errorf("got err %q, want connection refused", r.Err)
		}
	})
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// A connection the target closed while idle is not used again: the next
// request, a POST that cannot be repeated, still gets its answer.
func TestIdleConnectionClosedByTarget(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Serves one request per connection, then closes it without saying so.
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(50 * time.Millisecond)
			}()
		}
	}()
	c := New(Config{})
	defer c.Close()
	base := mustURL(t, "http://"+l.Addr().String())
	for i, method := range []string{"GET", "POST", "POST"} {
		if i > 0 {
			time.Sleep(staleAfter + 100*time.Millisecond)
		}
		r := c.Do(context.Background(), base, &diff.Request{Method: method, URI: "/", Body: []byte("x")})
		if r.Err != "" || string(r.Body) != "ok" {
			t.Errorf("request %d (%s): %q %q, want ok", i, method, r.Body, r.Err)
		}
	}
}
