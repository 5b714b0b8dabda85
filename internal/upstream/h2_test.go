package upstream

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// startFront starts NGINX speaking h2c only, or h2 and HTTP/1.1 over TLS,
// in front of the test bed's origin application.
func startFront(t *testing.T, withTLS bool) *testbed.Front {
	t.Helper()
	origin := httptest.NewServer(testbed.OriginHandler())
	t.Cleanup(origin.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u, _ := url.Parse(origin.URL)
	f, err := testbed.StartFront(ctx, zerolog.Nop(), testbed.FrontConfig{Upstream: u.Host, Dir: t.TempDir(), TLS: withTLS})
	if err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return f
}

func TestHTTP2Targets(t *testing.T) {
	t.Parallel()
	h2c, h2 := startFront(t, false), startFront(t, true)
	trust := &tls.Config{RootCAs: h2.Cert.Pool}
	req := &diff.Request{Method: http.MethodGet, URI: "/api/items/7", Host: "example.test",
		Header: http.Header{"Accept": {"application/json"}, "Connection": {"keep-alive"}}}
	tests := []struct {
		name, proto string
		front       *testbed.Front
		wantProto   string
		wantErr     bool
	}{
		{"h2c", ProtoH2, h2c, "HTTP/2.0", false},
		{"h2 over tls", ProtoH2, h2, "HTTP/2.0", false},
		{"auto over tls takes h2", ProtoAuto, h2, "HTTP/2.0", false},
		{"h1 over tls", ProtoH1, h2, "HTTP/1.1", false},
		{"auto finds h2c", ProtoAuto, h2c, "HTTP/2.0", false},
		// NGINX's h2c port speaks nothing else: HTTP/1.1 gets no answer.
		{"h1 to h2c only", ProtoH1, h2c, "", true},
	}
	var want []byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Config{Proto: tt.proto, TLS: trust, Timeout: 5 * time.Second})
			defer c.Close()
			base, _ := url.Parse(tt.front.URL)
			r := c.Do(context.Background(), base, req)
			if tt.wantErr {
				if !r.Failed() && r.Status < 400 {
					t.Fatalf("answer %d %s from an h2c-only target over HTTP/1.1", r.Status, r.Proto)
				}
				return
			}
			if r.Failed() || r.Status != 200 || r.Proto != tt.wantProto {
				t.Fatalf("answer %d %s err %q, want 200 %s", r.Status, r.Proto, r.Err, tt.wantProto)
			}
			if r.TTFB <= 0 || r.Total < r.TTFB {
				t.Errorf("ttfb %v, total %v", r.TTFB, r.Total)
			}
			if want == nil {
				want = r.Body
			}
			if d := cmp.Diff(string(want), string(r.Body)); d != "" {
				t.Errorf("body (-first +this):\n%s", d)
			}
		})
	}
}

// TestAutoFindsHTTP1 sends with ProtoAuto to an HTTP/1.1-only server: it
// is asked for h2c once, then spoken to in HTTP/1.1.
func TestAutoFindsHTTP1(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	defer srv.Close()
	c := New(Config{Proto: ProtoAuto, Timeout: 5 * time.Second})
	defer c.Close()
	base, _ := url.Parse(srv.URL)
	for range 3 {
		r := c.Do(context.Background(), base, &diff.Request{Method: http.MethodGet, URI: "/"})
		if r.Failed() || r.Status != 200 || string(r.Body) != "HTTP/1.1" {
			t.Fatalf("answer %d %q err %q, want 200 HTTP/1.1", r.Status, r.Body, r.Err)
		}
	}
}

func TestParseProto(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": ProtoH1, "h1": ProtoH1, "h2": ProtoH2, "auto": ProtoAuto, "h3": ""} {
		got, err := ParseProto(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("ParseProto(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
