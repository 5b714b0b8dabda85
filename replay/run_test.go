package replay

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

// noiseRules ignore what the legacy edge changes on every answer, and the
// Expect header that NGINX answers itself instead of forwarding.
const noiseRules = `
ignore:
  - header.X-Request-Id
  - header.X-Edge-Time
  - body.generated_at
  - body.request_id
  - body.headers.Expect
  - body.headers.X-Request-Id[]
`

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// replayAgainst replays a test capture against the bed and returns the
// counts and the differences reported, by endpoint and path.
func replayAgainst(t *testing.T, ctx context.Context, bed *testbed.Bed, capture string, speed float64) (diff.Counts, map[string]int64) {
	t.Helper()
	rules, err := diff.ParseRules([]byte(noiseRules))
	if err != nil {
		t.Fatal(err)
	}
	agg := diff.NewAggregator(diff.AggregatorConfig{Rules: rules})
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	defer client.Close()
	cfg := Config{
		Files: []string{testdataPath(capture)}, Speed: speed, Unsafe: true,
		Legacy: mustURL(t, bed.Legacy.URL), Candidate: mustURL(t, bed.Candidate.URL),
	}
	res, err := Run(ctx, cfg, client, agg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s := agg.Summary("replay")
	if err := s.Counts.Check(); err != nil {
		t.Errorf("count invariant: %v", err)
	}
	if res.Stats.Requests+sum(res.Stats.Skipped) != int(s.Counts.Requests) {
		t.Errorf("read %d records, counted %d requests", res.Stats.Requests+sum(res.Stats.Skipped), s.Counts.Requests)
	}
	fields := map[string]int64{}
	for _, e := range s.Endpoints {
		for _, f := range e.Fields {
			if f.Reported {
				fields[e.Endpoint+" "+f.Path] += f.Count
			}
		}
	}
	return s.Counts, fields
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestReplayTestBed replays a capture against legacy NGINX/Lua and the
// candidate fixture: faithful, then with a switch on.
func TestReplayTestBed(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{IPv6: true})
	ctx := context.Background()
	tests := []struct {
		name       string
		switches   testbed.Switches
		wantFields map[string]int64
	}{
		{"faithful", testbed.Switches{}, map[string]int64{}},
		{"changed price", testbed.Switches{ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`1.5`)}},
			// /api/items/1, /2, /3 (IPv6) and /4 (pipelined) in curl.pcap
			map[string]int64{"GET /api/items/{id} body.price": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { // sequential: they share the candidate
			if err := bed.Candidate.SetSwitches(tt.switches); err != nil {
				t.Fatal(err)
			}
			counts, fields := replayAgainst(t, ctx, bed, "curl.pcap", 0)
			want := diff.Counts{Requests: 19, Skipped: map[string]int64{}, Compared: 19, Different: int64(len(tt.wantFields))}
			if len(tt.wantFields) > 0 {
				want.Different = tt.wantFields["GET /api/items/{id} body.price"]
			}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("reported fields (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReplayCandidateStops stops the candidate half way through a paced
// replay: what follows fails on the candidate's side, and counts add up.
// It is stopped once 50 exchanges were compared, whatever the machine's
// speed: a fixed delay stopped it before the first on a busy machine.
func TestReplayCandidateStops(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	rules, err := diff.ParseRules([]byte(noiseRules))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	sink := &cancelAfter{Aggregator: diff.NewAggregator(diff.AggregatorConfig{Rules: rules}), after: 50,
		cancel: func() { wg.Go(func() { bed.Candidate.Stop() }) }}
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	defer client.Close()
	cfg := Config{Files: []string{filepath.Join("testdata", "wrk.pcap.gz")}, Speed: 1, Unsafe: true,
		Legacy: mustURL(t, bed.Legacy.URL), Candidate: mustURL(t, bed.Candidate.URL)}
	if _, err := Run(context.Background(), cfg, client, sink, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	counts, _ := sink.Counts()
	if counts.Requests != 463 || counts.Failed.Candidate == 0 || counts.Compared < 50 ||
		counts.Compared+counts.Failed.Candidate != 463 || counts.Different != 0 {
		t.Errorf("counts %+v: want 463 requests, some compared (none different) and the rest failed.candidate", counts)
	}
}

// TestReplayInterrupted cancels a paced replay: every record read is still
// counted, the unsent ones as interrupted.
func TestReplayInterrupted(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	rules, err := diff.ParseRules([]byte(noiseRules))
	if err != nil {
		t.Fatal(err)
	}
	// Interrupted once 20 exchanges are compared, whatever the machine's
	// speed: a fixed deadline ended some runs under -race before any.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := &cancelAfter{Aggregator: diff.NewAggregator(diff.AggregatorConfig{Rules: rules}), after: 20, cancel: cancel}
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	defer client.Close()
	cfg := Config{Files: []string{filepath.Join("testdata", "wrk.pcap.gz")}, Speed: 0.5, Unsafe: true,
		Legacy: mustURL(t, bed.Legacy.URL), Candidate: mustURL(t, bed.Candidate.URL)}
	res, err := Run(ctx, cfg, client, sink, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	counts, _ := sink.Counts()
	if err := counts.Check(); err != nil {
		t.Errorf("count invariant: %v", err)
	}
	// Reading stops too: what was read and not sent counts as interrupted.
	// How many more than 20 were in flight at the cancel depends on the
	// machine: a stalled one makes many sends due at once.
	if !res.Interrupted || counts.Skipped[ReasonInterrupted] == 0 || counts.Compared < 20 {
		t.Errorf("interrupted %v, counts %+v: want 20 or more compared, the rest read interrupted", res.Interrupted, counts)
	}
}

// cancelAfter is an aggregator that cancels a context once it was given
// after exchanges.
type cancelAfter struct {
	*diff.Aggregator
	n      atomic.Int64
	after  int64
	cancel func()
}

func (c *cancelAfter) Add(ex *diff.Exchange) {
	c.Aggregator.Add(ex)
	if c.n.Add(1) == c.after {
		c.cancel()
	}
}

// TestReplayPacing replays 2,000 req/s (pace.pcap.gz, 3 s) at --speed 1
// and checks that pacing_ms counts every send and that its p99 stays under
// a generous bound: the 2 ms of the acceptance is measured without -race
// and other tests by scripts/bench-replay.sh (BENCHMARKS.md).
//
// Not parallel: a timing figure needs the package's other tests not to
// share the 2 cores meanwhile (parallel tests wait for sequential ones).
func TestReplayPacing(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s of paced traffic")
	}
	bed := testbed.StartForTest(t, testbed.Config{})
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	defer client.Close()
	agg := diff.NewAggregator(diff.AggregatorConfig{})
	cfg := Config{
		Files: []string{filepath.Join("testdata", "pace.pcap.gz")}, Speed: 1,
		Legacy: mustURL(t, bed.Legacy.URL), Candidate: mustURL(t, bed.Candidate.URL),
	}
	start := time.Now()
	res, err := Run(context.Background(), cfg, client, agg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	counts, _ := agg.Counts()
	t.Logf("pacing_ms %+v in %v", *res.Pacing, took)
	if res.Pacing.Count != 6000 || counts.Compared+counts.Failed.Candidate+counts.Failed.Legacy+counts.Failed.Both != 6000 {
		t.Errorf("pacing counted %d sends, %d compared: want 6000", res.Pacing.Count, counts.Compared)
	}
	if raceEnabled {
		return // under -race, 2,000 exchanges/s are more than 2 cores can compare
	}
	// The capture lasts 3 s: at --speed 1 the replay neither rushes nor drags.
	if took < 2900*time.Millisecond || took > 5*time.Second {
		t.Errorf("replay took %v, want about 3 s", took)
	}
	if res.Pacing.P99 > 25 {
		t.Errorf("pacing p99 %.3f ms, want under 25 ms even under load", res.Pacing.P99)
	}
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		done    int
		read    float64
		elapsed time.Duration
		last    bool
		want    string
	}{
		{"a quarter read", 500, 0.25, 10 * time.Second, false, "\r500 requests  50 req/s  3 different  10s elapsed  ETA 30s\x1b[K"},
		{"all read", 2000, 1, 40 * time.Second, false, "\r2000 requests  50 req/s  3 different  40s elapsed  ETA 0s\x1b[K"},
		{"too early to tell", 10, 0.01, 500 * time.Millisecond, false, "\r10 requests  20 req/s  3 different  1s elapsed  ETA --\x1b[K"},
		{"nothing read yet", 0, 0, 2 * time.Second, false, "\r0 requests  0 req/s  3 different  2s elapsed  ETA --\x1b[K"},
		{"last line", 2000, 1, 40 * time.Second, true, "\r2000 requests  50 req/s  3 different  40s elapsed\x1b[K\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &progress{start: start, different: func() int64 { return 3 }, read: func() float64 { return tt.read }}
			p.n.Store(int64(tt.done))
			if diff := cmp.Diff(tt.want, p.line(start.Add(tt.elapsed), tt.last)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Without a secondary, the first requests sent to legacy twice teach the
// diff engine the edge's own noise (request ids); turned off, the same
// replay reports them. The test bed's rules ignore X-Edge-Time, the edge's
// millisecond clock: two sends to legacy in the same millisecond would
// teach that it is stable, and the candidate answering a millisecond later
// would then differ (this test failed that way whenever the machine was quiet).
func TestReplayLearnsNoiseWithoutSecondary(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	for _, tt := range []struct {
		name       string
		samples    int
		wantReport bool
	}{
		{"learned", 0, false},
		{"not learned", -1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			agg := diff.NewAggregator(diff.AggregatorConfig{Rules: testbed.Rules()})
			client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
			defer client.Close()
			cfg := Config{Files: []string{filepath.Join("testdata", "wrk.pcap.gz")}, NoiseSamples: tt.samples,
				Legacy: mustURL(t, bed.Legacy.URL), Candidate: mustURL(t, bed.Candidate.URL)}
			if _, err := Run(context.Background(), cfg, client, agg, zerolog.Nop()); err != nil {
				t.Fatal(err)
			}
			s := agg.Summary("replay")
			reported := map[string]bool{}
			for _, e := range s.Endpoints {
				for _, f := range e.ReportedFields() {
					reported[f.Path] = true
				}
			}
			if got := reported["header.X-Request-Id"]; got != tt.wantReport {
				t.Errorf("X-Request-Id reported = %v, want %v (counts %+v, reported %v)", got, tt.wantReport, s.Counts, reported)
			}
			if !tt.wantReport && s.Counts.Different != 0 {
				t.Errorf("faithful candidate with noise learned: %d of %d differ, want 0 (reported %v)", s.Counts.Different, s.Counts.Compared, reported)
			}
		})
	}
}

// testdataPath is a capture of testdata, or one made by the test (an
// absolute path).
func testdataPath(capture string) string {
	if filepath.IsAbs(capture) {
		return capture
	}
	return filepath.Join("testdata", capture)
}
