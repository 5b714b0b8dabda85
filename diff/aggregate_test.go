package diff

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func answer(status int, total time.Duration) *Response {
	return &Response{Status: status, Total: total, TTFB: total / 2}
}

func refused() *Response { return &Response{Err: "connection refused"} }

// TestAggregatorInvariant feeds every kind of outcome from several
// goroutines and checks the counts add up, overall and per endpoint.
func TestAggregatorInvariant(t *testing.T) {
	t.Parallel()
	a := NewAggregator(AggregatorConfig{Compare: flatCompare})
	const workers, each = 4, 250
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				uri := fmt.Sprintf("/e%d", (w*each+i)%7)
				switch i % 10 {
				case 0:
					a.Skip(a.Endpoint("POST", uri), "unsafe")
				case 1:
					a.Skip("", "unparseable")
				case 2:
					a.Add(&Exchange{Request: Request{Method: "GET", URI: uri}, Legacy: refused(), Candidate: answer(200, time.Millisecond)})
				case 3:
					a.Add(&Exchange{Request: Request{Method: "GET", URI: uri}, Legacy: answer(200, time.Millisecond), Candidate: nil})
				case 4:
					a.Add(&Exchange{Request: Request{Method: "GET", URI: uri}, Legacy: refused(), Candidate: refused()})
				case 5:
					a.Add(&Exchange{Request: Request{Method: "GET", URI: uri}, Legacy: answer(200, time.Millisecond), Candidate: answer(500, time.Millisecond)})
				default:
					a.Add(&Exchange{Request: Request{Method: "GET", URI: uri}, Legacy: answer(200, time.Millisecond), Candidate: answer(200, time.Millisecond)})
				}
			}
		})
	}
	wg.Wait()
	s := a.Summary("replay")
	want := Counts{
		Requests:  workers * each,
		Skipped:   map[string]int64{"unsafe": 100, "unparseable": 100},
		Compared:  500,
		Failed:    Failed{Legacy: 100, Candidate: 100, Both: 100},
		Different: 100,
	}
	if diff := cmp.Diff(want, s.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if err := s.Counts.Check(); err != nil {
		t.Error(err)
	}
	var endpointRequests int64
	for _, e := range s.Endpoints {
		endpointRequests += e.Requests
		c := Counts{Requests: e.Requests, Skipped: e.Skipped, Compared: e.Compared, Failed: e.Failed, Different: e.Different}
		if err := c.Check(); err != nil {
			t.Errorf("%s: %v", e.Endpoint, err)
		}
	}
	if unattributed := s.Counts.Skipped["unparseable"]; endpointRequests+unattributed != s.Counts.Requests {
		t.Errorf("endpoints hold %d requests + %d unattributed, want %d", endpointRequests, unattributed, s.Counts.Requests)
	}
}

func TestCountsCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		counts Counts
		ok     bool
	}{
		{name: "balanced", counts: Counts{Requests: 6, Skipped: map[string]int64{"gap": 1}, Compared: 2, Failed: Failed{1, 1, 1}, Different: 2}, ok: true},
		{name: "a request lost", counts: Counts{Requests: 7, Skipped: map[string]int64{"gap": 1}, Compared: 2, Failed: Failed{1, 1, 1}}},
		{name: "more different than compared", counts: Counts{Requests: 2, Compared: 2, Different: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.counts.Check(); (err == nil) != tt.ok {
				t.Errorf("Check() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestAggregatorCaps checks that endpoints and fields beyond the caps are
// counted under the overflow names, not dropped.
func TestAggregatorCaps(t *testing.T) {
	t.Parallel()
	a := NewAggregator(AggregatorConfig{MaxEndpoints: 2, MaxFields: 2, Compare: flatCompare})
	for i := range 5 {
		l := &Response{Status: 200, Body: []byte(`{"a":1,"b":1,"c":1}`)}
		c := &Response{Status: 200, Body: []byte(`{"a":2,"b":2,"c":2}`)}
		a.Add(&Exchange{Request: Request{Method: "GET", URI: fmt.Sprintf("/p%d", i)}, Legacy: l, Candidate: c})
	}
	s := a.Summary("mirror")
	type row struct {
		Endpoint string
		Requests int64
		Paths    []string
	}
	var got []row
	for _, e := range s.Endpoints {
		r := row{Endpoint: e.Endpoint, Requests: e.Requests}
		for _, f := range e.Fields {
			r.Paths = append(r.Paths, fmt.Sprintf("%s %s %d", f.Path, f.Kind, f.Count))
		}
		got = append(got, r)
	}
	fields := []string{"OTHER changed 1", "body.a changed 1", "body.b changed 1"}
	want := []row{
		{Endpoint: "GET /p0", Requests: 1, Paths: fields},
		{Endpoint: "GET /p1", Requests: 1, Paths: fields},
		{Endpoint: "OTHER", Requests: 3, Paths: []string{"OTHER changed 3", "body.a changed 3", "body.b changed 3"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
}

// TestAggregatorSamples checks samples are capped, redacted and cut.
func TestAggregatorSamples(t *testing.T) {
	t.Parallel()
	a := NewAggregator(AggregatorConfig{SampleBodyBytes: 8, RedactHeaders: []string{"x-api-key"}, Compare: flatCompare})
	for i := range 5 {
		req := Request{Method: "POST", URI: "/login", Host: "example.test", Body: []byte("user=alice&password=secret"),
			Header: http.Header{"Authorization": {"Bearer t"}, "Cookie": {"s=1"}, "X-Api-Key": {"k"}, "Accept": {"*/*"}}}
		l := &Response{Status: 200, Header: http.Header{"Set-Cookie": {"s=old"}}}
		c := &Response{Status: 200, Header: http.Header{"Set-Cookie": {"s=new"}}}
		a.Add(&Exchange{Time: time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC), Request: req, Legacy: l, Candidate: c})
	}
	fields := a.Summary("mirror").Endpoints[0].Fields
	if len(fields) != 1 || len(fields[0].Samples) != 3 {
		t.Fatalf("fields = %+v, want one with 3 samples", fields)
	}
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := FieldSample{
		Time: &ts,
		Request: &RequestSample{Method: "POST", URI: "/login", Host: "example.test", Body: "user=ali", BodyBytes: 26,
			Header: map[string][]string{"Authorization": {redacted}, "Cookie": {redacted}, "X-Api-Key": {redacted}, "Accept": {"*/*"}}},
		Legacy: redacted, Candidate: redacted,
	}
	if diff := cmp.Diff(want, fields[0].Samples[0]); diff != "" {
		t.Errorf("sample (-want +got):\n%s", diff)
	}
}

func TestSamplerCut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		max            int
	}{
		{name: "short", in: "abc", max: 8, want: "abc"},
		{name: "ascii", in: "abcdefghij", max: 4, want: "abcd"},
		{name: "rune cut in half", in: "ab\u00e9\u00e9", max: 3, want: "ab"},
		{name: "invalid bytes", in: "a\xffb", max: 8, want: "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := newSampler(nil, nil, tt.max).cut(tt.in); got != tt.want {
				t.Errorf("cut(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestAggregatorFailureSamples checks failed exchanges leave samples with
// the side and the error.
func TestAggregatorFailureSamples(t *testing.T) {
	t.Parallel()
	a := NewAggregator(AggregatorConfig{Compare: flatCompare})
	a.Add(&Exchange{Request: Request{Method: "GET", URI: "/x"}, Legacy: answer(200, 0), Candidate: &Response{Err: "timeout"}})
	got := a.Summary("mirror").Endpoints[0].Failures
	want := []FailureSample{{Request: &RequestSample{Method: "GET", URI: "/x"}, Side: "candidate", CandidateError: "timeout"}}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

// TestAggregatorRulesRedact checks samples also hide the headers the
// comparison rules redact.
func TestAggregatorRulesRedact(t *testing.T) {
	t.Parallel()
	a := NewAggregator(AggregatorConfig{Rules: &Rules{Headers: HeaderRules{Redact: []string{"x-secret-*"}}}})
	req := Request{Method: "GET", URI: "/", Header: http.Header{"X-Secret-Token": {"t"}, "X-Other": {"o"}}}
	a.Add(&Exchange{Request: req, Legacy: &Response{Status: 200}, Candidate: &Response{Status: 404}})
	f := a.Summary("mirror").Endpoints[0].Fields
	if len(f) != 1 || len(f[0].Samples) != 1 {
		t.Fatalf("fields = %+v, want one with a sample", f)
	}
	want := map[string][]string{"X-Secret-Token": {redacted}, "X-Other": {"o"}}
	if diff := cmp.Diff(want, f[0].Samples[0].Request.Header); diff != "" {
		t.Errorf("sample headers (-want +got):\n%s", diff)
	}
}
