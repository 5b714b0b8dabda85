package mirror

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

// TestShadowToHTTP2Candidate shadows to a candidate reachable only over
// h2c (NGINX's `listen ... http2` in the clear) or over h2 by ALPN (NGINX
// with TLS), and compares as over HTTP/1.1 through the same NGINX: every
// request compared, the same differences reported, whether the candidate
// is the shadow (weight 0) or serves the clients (weight 100, its answers
// relayed from HTTP/2). ProtoAuto finds what
// each target speaks: legacy and the secondary stay on HTTP/1.1 (ProtoH2
// would speak h2c to them too).
func TestShadowToHTTP2Candidate(t *testing.T) {
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true, Candidate: testbed.CandidateConfig{Switches: testbed.Switches{
		ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`0.01`)},
	}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	candidate, _ := url.Parse(bed.Candidate.URL)
	dir := t.TempDir()
	tlsFront, err := testbed.StartFront(ctx, zerolog.Nop(), testbed.FrontConfig{Upstream: candidate.Host, Dir: filepath.Join(dir, "tls"), TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tlsFront.Stop()
	h2cFront, err := testbed.StartFront(ctx, zerolog.Nop(), testbed.FrontConfig{Upstream: candidate.Host, Dir: filepath.Join(dir, "h2c")})
	if err != nil {
		t.Fatal(err)
	}
	defer h2cFront.Stop()
	trust := &tls.Config{RootCAs: tlsFront.Cert.Pool}

	const n = 20
	run := func(t *testing.T, front *testbed.Front, proto string, weight float64) diff.Summary {
		cfg := Config{UpstreamProto: proto, UpstreamTLS: trust, NoiseSamples: -1, Weight: weight}
		cfg.Legacy, _ = url.Parse(bed.Legacy.URL)
		cfg.Secondary, _ = url.Parse(bed.Secondary.URL)
		cfg.Candidate, _ = url.Parse(front.URL)
		agg := diff.NewAggregator(diff.AggregatorConfig{Rules: testbed.Rules()})
		m, err := New(cfg, agg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		srv, err := Listen(m, agg, ServerConfig{Listen: "127.0.0.1:0", Admin: "off"}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		sctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(sctx) }()
		for i := 1; i <= n; i++ {
			path := fmt.Sprintf("/api/items/%d", i)
			if i%2 == 0 {
				path = "/page"
			}
			if g := get("http://"+srv.Addr, path, nil); g.err != nil || g.status != 200 {
				stop()
				t.Fatalf("client got %d %v", g.status, g.err)
			}
		}
		waitAccounted(t, agg, n)
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("mirror did not shut down")
		}
		return agg.Summary("mirror")
	}
	// HTTP/1.1 over TLS to the same NGINX: what the others must match.
	h1 := run(t, tlsFront, upstream.ProtoH1, 0)
	if h1.Counts.Compared != n || !strings.Contains(fmt.Sprint(reportedFields(h1)), "body.price changed") {
		t.Fatalf("over HTTP/1.1: counts %+v, fields %v: want %d compared and the price change", h1.Counts, reportedFields(h1), n)
	}
	for _, tt := range []struct {
		name   string
		front  *testbed.Front
		proto  string
		weight float64
	}{
		{"auto: h2 by alpn", tlsFront, upstream.ProtoAuto, 0},
		{"auto: h2c found, legacy on HTTP/1.1", h2cFront, upstream.ProtoAuto, 0},
		// The candidate serves every client: its answers are relayed over h2c.
		{"candidate primary over h2c", h2cFront, upstream.ProtoAuto, 100},
		{"candidate primary over h2", tlsFront, upstream.ProtoAuto, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, tt.front, tt.proto, tt.weight)
			if d := cmp.Diff(h1.Counts, s.Counts); d != "" {
				t.Errorf("counts (-HTTP/1.1 +%s):\n%s", tt.name, d)
			}
			if d := cmp.Diff(reportedFields(h1), reportedFields(s)); d != "" {
				t.Errorf("reported fields (-HTTP/1.1 +%s):\n%s", tt.name, d)
			}
		})
	}
}
