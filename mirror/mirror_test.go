package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// running is a Mirror served on loopback in front of a test bed.
type running struct {
	srv    *Server
	m      *Mirror
	agg    *diff.Aggregator
	url    string
	admin  string
	cancel context.CancelFunc
	done   chan error
}

func startMirror(t testing.TB, bed *testbed.Bed, cfg Config, scfg ServerConfig) *running {
	t.Helper()
	if cfg.Legacy == nil { // else the test chose both sides
		cfg.Legacy, _ = url.Parse(bed.Legacy.URL)
		cfg.Candidate, _ = url.Parse(bed.Candidate.URL)
	}
	if bed.Secondary != nil {
		cfg.Secondary, _ = url.Parse(bed.Secondary.URL)
	}
	rules := testbed.Rules()
	agg := diff.NewAggregator(diff.AggregatorConfig{Rules: rules})
	m, err := New(cfg, agg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	scfg.Listen = "127.0.0.1:0"
	if scfg.Admin == "" {
		scfg.Admin = "127.0.0.1:0"
	}
	srv, err := Listen(m, agg, scfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, m: m, agg: agg, url: "http://" + srv.Addr, admin: "http://" + srv.AdminAddr, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop shuts the mirror down as SIGTERM does and returns the final summary.
func (r *running) stop(t testing.TB) diff.Summary {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
		r.done <- nil // later stops return at once
	case <-time.After(60 * time.Second):
		t.Fatal("mirror did not shut down")
	}
	return r.agg.Summary("mirror")
}

type got struct {
	status int
	header http.Header
	body   []byte
	err    error
}

var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

func get(base, path string, header http.Header) got {
	req, _ := http.NewRequest("GET", base+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		return got{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return got{status: resp.StatusCode, header: resp.Header, body: body, err: err}
}

// waitCompared waits until the shadows of n requests are accounted for.
func waitAccounted(t *testing.T, agg *diff.Aggregator, n int64) diff.Summary {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := agg.Summary("mirror")
		if s.Counts.Requests >= n || time.Now().After(deadline) {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClientsGetThePrimaryAnswerByteForByte(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true})
	for _, weight := range []float64{0, 100} {
		t.Run(fmt.Sprintf("weight %g", weight), func(t *testing.T) {
			r := startMirror(t, bed, Config{Weight: weight}, ServerConfig{})
			primary := bed.Legacy.URL
			if weight == 100 {
				primary = bed.Candidate.URL
			}
			gz := http.Header{"Accept-Encoding": {"gzip"}}
			probes := []struct {
				path   string
				header http.Header
			}{
				{"/api/items/5", nil}, {"/api/items?page=3", gz}, {"/page", gz}, {"/text", nil},
				{"/binary", nil}, {"/large", nil}, {"/stream?chunks=4&delay_ms=10", nil}, {"/old-page", nil},
				{"/edge/health", gz}, {"/api/items/0", nil},
			}
			for _, p := range probes {
				via, direct := get(r.url, p.path, p.header), get(primary, p.path, p.header)
				if via.err != nil || direct.err != nil {
					t.Fatalf("%s: via mirror err %v, direct err %v", p.path, via.err, direct.err)
				}
				if via.status != direct.status || !bytes.Equal(via.body, direct.body) {
					t.Errorf("%s: via mirror %d with %d bytes, direct %d with %d bytes: want identical", p.path, via.status, len(via.body), direct.status, len(direct.body))
				}
				for _, h := range []string{"Content-Type", "Content-Encoding", "Cache-Control", "Vary", "X-Served-By", "Location"} {
					if !cmp.Equal(via.header.Values(h), direct.header.Values(h)) {
						t.Errorf("%s: header %s via mirror %q, direct %q", p.path, h, via.header.Values(h), direct.header.Values(h))
					}
				}
			}
			s := waitAccounted(t, r.agg, int64(len(probes)))
			if err := s.Counts.Check(); err != nil {
				t.Error(err)
			}
			if s.Counts.Different != 0 {
				t.Errorf("faithful candidate: %d different, want 0; summary endpoints: %+v", s.Counts.Different, reportedFields(s))
			}
		})
	}
}

func reportedFields(s diff.Summary) map[string][]string {
	out := map[string][]string{}
	for _, ep := range s.Endpoints {
		for _, f := range ep.Fields {
			if f.Reported {
				out[ep.Endpoint] = append(out[ep.Endpoint], f.Path+" "+string(f.Kind))
			}
		}
	}
	return out
}

func TestInjectedDifferencesShowInTheSummary(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true, Candidate: testbed.CandidateConfig{Switches: testbed.Switches{
		ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`0.01`)},
		DropHeader:  "Cache-Control",
	}}})
	r := startMirror(t, bed, Config{}, ServerConfig{})
	const n = 40
	for i := 1; i <= n; i++ {
		if g := get(r.url, fmt.Sprintf("/api/items/%d", i), nil); g.err != nil || g.status != 200 {
			t.Fatalf("client got %d %v", g.status, g.err)
		}
	}
	s := r.stop(t)
	if err := s.Counts.Check(); err != nil {
		t.Error(err)
	}
	want := map[string][]string{"GET /api/items/{id}": {"body.price changed", "header.Cache-Control missing"}}
	if diff := cmp.Diff(want, reportedFields(s)); diff != "" {
		t.Errorf("reported fields (-want +got):\n%s", diff)
	}
	if s.Counts.Different != n || s.Verdict != diff.VerdictFail {
		t.Errorf("different %d verdict %s, want %d and fail", s.Counts.Different, s.Verdict, n)
	}
}

func TestCountsAddUpAfterShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Candidate: testbed.CandidateConfig{Switches: testbed.Switches{
		Latency: testbed.Latency{Fixed: testbed.Duration(30 * time.Millisecond)},
	}}})
	r := startMirror(t, bed, Config{QueueSize: 16, Workers: 4, Unsafe: true}, ServerConfig{DrainTimeout: 100 * time.Millisecond})
	var answered sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	stop := make(chan struct{})
	for w := range 8 {
		answered.Add(1)
		go func() {
			defer answered.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := fmt.Sprintf("/api/items/%d", 1+(w*97+i)%1000)
				if i%5 == 0 {
					path = "/echo"
				}
				if g := get(r.url, path, nil); g.err == nil && g.status == 200 {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	s := r.stop(t) // shuts down while clients are still sending
	close(stop)
	answered.Wait()
	if err := s.Counts.Check(); err != nil {
		t.Fatal(err)
	}
	if s.Counts.Requests < int64(ok) {
		t.Errorf("summary counts %d requests, but clients got %d answers", s.Counts.Requests, ok)
	}
	if s.Counts.Skipped["queue_full"]+s.Counts.Skipped["shutdown"] == 0 {
		t.Errorf("a slow shadow with a 16-slot queue under load should drop copies; skipped = %v", s.Counts.Skipped)
	}
	t.Logf("answered %d; counts %+v", ok, s.Counts)
}

// Without a secondary the mirror learns legacy's own noise (request ids,
// noisy fields) by sending a few requests to legacy twice.
func TestNoiseLearnedWithoutSecondary(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	r := startMirror(t, bed, Config{NoiseSamples: 30, Workers: 1}, ServerConfig{})
	for i := range 60 {
		path := fmt.Sprintf("/api/items/%d", 1+i)
		if i%2 == 0 {
			path = "/api/noisy"
		}
		if g := get(r.url, path, nil); g.err != nil {
			t.Fatal(g.err)
		}
	}
	s := r.stop(t)
	if s.Counts.Compared != 60 {
		t.Fatalf("compared %d, want 60: %+v", s.Counts.Compared, s.Counts)
	}
	if got := reportedFields(s); len(got) != 0 {
		t.Errorf("faithful candidate, noise learned from legacy: want nothing reported, got %v", got)
	}
}

// Large answers held for comparison fill the byte budget before the
// queue's slots: requests past it are skipped as body_budget, clients are
// served all the same.
func TestBodyBudgetSkipsWhenSpent(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Candidate: testbed.CandidateConfig{Switches: testbed.Switches{
		Latency: testbed.Latency{Fixed: testbed.Duration(300 * time.Millisecond)},
	}}})
	// 64 KiB answers, a 200 KiB budget: about 3 copies fit at a time.
	r := startMirror(t, bed, Config{QueueSize: 1000, BodyBudget: 200 << 10, Workers: 1}, ServerConfig{})
	for range 20 {
		if g := get(r.url, "/binary", nil); g.err != nil || len(g.body) != 64<<10 {
			t.Fatalf("client got %d bytes, %v", len(g.body), g.err)
		}
	}
	s := r.stop(t)
	if err := s.Counts.Check(); err != nil {
		t.Error(err)
	}
	if full := s.Counts.Skipped[ReasonBodyBudget]; full < 10 {
		t.Errorf("body_budget %d of 20 with room for ~3 copies of 64 KiB, want most dropped: %+v", full, s.Counts)
	}
}

// Through the proxy: at weight 10, 10,000 users (split by header) are
// served by the candidate in a share within ±1 point of 10%.
func TestWeightShareThroughTheProxy(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	none := 0.0
	r := startMirror(t, bed, Config{Weight: 10, SplitKey: "header:X-User", Sample: &none}, ServerConfig{})
	const users = 10000
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for u := range next {
				if g := get(r.url, "/edge/health", http.Header{"X-User": {fmt.Sprintf("user-%d", u)}}); g.err != nil || g.status != 200 {
					t.Errorf("user %d: %d %v", u, g.status, g.err)
				}
			}
		})
	}
	for u := range users {
		next <- u
	}
	close(next)
	wg.Wait()
	served := r.m.Status().Served
	share := 100 * float64(served["candidate"].Requests) / users
	if served["candidate"].Requests+served["legacy"].Requests != users || share < 9 || share > 11 {
		t.Errorf("candidate served %.2f%% of %d users (legacy %d, candidate %d), want 10 ± 1", share, users, served["legacy"].Requests, served["candidate"].Requests)
	}
}
