package diff

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenAggregate adds a fixed set of exchanges: two busy endpoints (one
// slower and with a changed field on the candidate), a quiet one, noise
// from a secondary, failures and skips.
func goldenAggregate() *Aggregator {
	a := NewAggregator(AggregatorConfig{
		Compare: flatCompare,
		Endpoint: func(method, uri string) string {
			if strings.HasPrefix(uri, "/api/items/") {
				return method + " /api/items/{id}"
			}
			return method + " " + uri
		},
		Seed: 1,
	})
	start := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	json := http.Header{"Content-Type": {"application/json"}}
	for i := range 60 {
		at := start.Add(time.Duration(i) * time.Second)
		// Items: candidate 20% slower; price changes on every 10th; the
		// secondary differs on the request id, as does everyone.
		ms := time.Duration(20+i%7) * time.Millisecond
		l := &Response{Status: 200, Header: json.Clone(), Body: []byte(`{"id":1,"price":10}`), Total: ms, TTFB: ms / 2}
		l.Header.Set("X-Request-Id", "l")
		s := &Response{Status: 200, Header: json.Clone(), Body: []byte(`{"id":1,"price":10}`), Total: ms, TTFB: ms / 2}
		s.Header.Set("X-Request-Id", "s")
		cBody := `{"id":1,"price":10}`
		if i%10 == 0 {
			cBody = `{"id":1,"price":10.5}`
		}
		c := &Response{Status: 200, Header: json.Clone(), Body: []byte(cBody), Total: ms * 6 / 5, TTFB: ms / 2}
		c.Header.Set("X-Request-Id", "c")
		a.Add(&Exchange{Time: at, Request: Request{Method: "GET", URI: "/api/items/1?x=1", Host: "shop.test",
			Header: http.Header{"Cookie": {"session=secret"}}}, Legacy: l, Secondary: s, Candidate: c})

		// Health: alike and equally fast.
		h := &Response{Status: 200, Body: []byte(`{"ok":true}`), Total: 2 * time.Millisecond, TTFB: time.Millisecond}
		a.Add(&Exchange{Time: at, Request: Request{Method: "GET", URI: "/health"}, Legacy: h, Candidate: h})
	}
	// Orders: too few to judge latency; one candidate failure, one of both.
	for i := range 5 {
		r := &Response{Status: 201, Body: []byte(`{"order":1}`), Total: 30 * time.Millisecond}
		c := &Response{Status: 201, Body: []byte(`{"order":1}`), Total: 31 * time.Millisecond}
		switch i {
		case 3:
			c = &Response{Err: "read: connection reset by peer"}
		case 4:
			r, c = &Response{Err: "timeout"}, &Response{Err: "timeout"}
		}
		a.Add(&Exchange{Time: start, Request: Request{Method: "PUT", URI: "/orders/1", Body: []byte(`{"qty":2}`)}, Legacy: r, Candidate: c})
	}
	a.Skip("POST /orders", "unsafe")
	a.Skip("", "unparseable")
	return a
}

func TestSummaryGolden(t *testing.T) {
	t.Parallel()
	got, err := json.MarshalIndent(goldenAggregate().Summary("replay"), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "summary.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./diff -run Golden -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("summary JSON (-want +got):\n%s", diff)
	}
}

// TestSummaryDeterministic checks that the same exchanges give the same
// bytes twice, reservoirs and all.
func TestSummaryDeterministic(t *testing.T) {
	t.Parallel()
	first, _ := json.Marshal(goldenAggregate().Summary("replay"))
	second, _ := json.Marshal(goldenAggregate().Summary("replay"))
	if !bytes.Equal(first, second) {
		t.Error("two summaries of the same exchanges differ")
	}
}

func TestParseSummaryRoundTrip(t *testing.T) {
	t.Parallel()
	s := goldenAggregate().Summary("mirror")
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSummary(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&s, got); diff != "" {
		t.Errorf("ParseSummary(Marshal(s)) (-want +got):\n%s", diff)
	}
	if err := got.Counts.Check(); err != nil {
		t.Error(err)
	}
}

func TestParseSummaryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "not JSON", in: `{`, want: "parse summary: unexpected end of JSON input"},
		{name: "other schema", in: `{"schema":"cutover.summary/v2","verdict":"pass"}`, want: `parse summary: schema "cutover.summary/v2", want "cutover.summary/v1"`},
		{name: "no verdict", in: `{"schema":"cutover.summary/v1"}`, want: "parse summary: verdict is neither pass nor fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSummary([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseSummary(%s) error = %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

// TestSummaryShape checks the fields DESIGN.md fixes exist under their
// names, whatever extras surround them.
func TestSummaryShape(t *testing.T) {
	t.Parallel()
	data, _ := json.Marshal(goldenAggregate().Summary("replay"))
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	paths := []string{
		"schema", "source", "counts.requests", "counts.skipped", "counts.compared", "counts.failed.legacy",
		"counts.failed.candidate", "counts.failed.both", "counts.different", "endpoints.0.endpoint",
		"endpoints.0.requests", "endpoints.0.compared", "endpoints.0.different", "endpoints.0.fields.0.path",
		"endpoints.0.fields.0.kind", "endpoints.0.fields.0.count", "endpoints.0.fields.0.noise",
		"endpoints.0.fields.0.reported", "endpoints.0.latency_ms.legacy.p50", "endpoints.0.latency_ms.candidate.p99",
		"latency_ms.legacy.p50", "latency_ms.legacy.p90", "latency_ms.legacy.p99", "latency_ms.legacy.max",
		"latency_ms.candidate.p50", "verdict", "reasons",
	}
	for _, p := range paths {
		var v any = doc
		for _, step := range strings.Split(p, ".") {
			switch node := v.(type) {
			case map[string]any:
				v = node[step]
			case []any:
				v = nil
				if len(node) > 0 && step == "0" {
					v = node[0]
				}
			default:
				v = nil
			}
		}
		if v == nil {
			t.Errorf("summary JSON lacks %s", p)
		}
	}
}

// TestAggregatorCounts checks the cheap counts agree with the summary's.
func TestAggregatorCounts(t *testing.T) {
	t.Parallel()
	a := goldenAggregate()
	s := a.Summary("mirror")
	counts, eps := a.Counts()
	if diff := cmp.Diff(s.Counts, counts); diff != "" {
		t.Errorf("Counts (-summary +counts):\n%s", diff)
	}
	var want []EndpointCounts
	for _, e := range s.Endpoints {
		want = append(want, EndpointCounts{Endpoint: e.Endpoint, Requests: e.Requests, Compared: e.Compared,
			Different: e.Different, Skipped: e.Skipped, Failed: e.Failed})
	}
	if diff := cmp.Diff(want, eps, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("endpoint counts (-summary +counts):\n%s", diff)
	}
}
