package diff

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// flatCompare is a small stand-in comparer: status, headers, and the
// top-level members of JSON object bodies. It makes the aggregator's tests
// independent of the real comparer's renderings.
func flatCompare(legacy, candidate *Response) []Difference {
	var out []Difference
	if legacy.Status != candidate.Status {
		out = append(out, Difference{Path: "status", Kind: KindChanged,
			Legacy: fmt.Sprint(legacy.Status), Candidate: fmt.Sprint(candidate.Status)})
	}
	out = append(out, compareMembers("header.", flatHeader(legacy.Header), flatHeader(candidate.Header))...)
	var l, c map[string]any
	_ = json.Unmarshal(legacy.Body, &l)
	_ = json.Unmarshal(candidate.Body, &c)
	out = append(out, compareMembers("body.", l, c)...)
	slices.SortFunc(out, func(a, b Difference) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func flatHeader(h http.Header) map[string]any {
	m := map[string]any{}
	for k, v := range h {
		m[http.CanonicalHeaderKey(k)] = fmt.Sprint(v)
	}
	return m
}

func compareMembers(prefix string, l, c map[string]any) []Difference {
	var out []Difference
	for _, k := range slices.Sorted(maps.Keys(l)) {
		lv := l[k]
		cv, cok := c[k]
		switch {
		case !cok:
			out = append(out, Difference{Path: prefix + k, Kind: KindMissing, Legacy: fmt.Sprint(lv)})
		case !cmp.Equal(lv, cv):
			out = append(out, Difference{Path: prefix + k, Kind: KindChanged, Legacy: fmt.Sprint(lv), Candidate: fmt.Sprint(cv)})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if _, ok := l[k]; !ok {
			out = append(out, Difference{Path: prefix + k, Kind: KindExtra, Candidate: fmt.Sprint(c[k])})
		}
	}
	return out
}

// noisyAnswer is an answer with a fresh request id and timestamp, as every
// legacy or candidate answer carries.
func noisyAnswer(serial int, price float64, withTS bool) *Response {
	body := map[string]any{"id": 7, "price": price}
	if withTS {
		body["ts"] = fmt.Sprintf("2024-01-01T00:00:%09d", serial)
	}
	b, _ := json.Marshal(body)
	return &Response{
		Status: 200,
		Header: http.Header{"X-Request-Id": {fmt.Sprintf("req-%d", serial)}, "Content-Type": {"application/json"}},
		Body:   b,
	}
}

type noiseCase struct {
	name string
	// exchange returns the i-th exchange; noiseSample the i-th pair of
	// legacy answers for AddNoiseSample (nil: none).
	exchange    func(i int) *Exchange
	noiseSample func(i int) (first, second *Response)
	wantFields  []FieldSummary
	different   int64
}

// noiseExchanges is the size of the noise acceptance test.
const noiseExchanges = 1000

// TestNoise is the acceptance test of noise cancelling: over 1,000
// exchanges a request id header and a timestamp differ on every answer
// (legacy, secondary, candidate), and the price differs on the candidate
// alone in 5% of them. Only the price is reported, with count 50.
func TestNoise(t *testing.T) {
	t.Parallel()
	const n = noiseExchanges
	// price differs on the candidate alone in 5% of exchanges.
	price := func(i int) float64 {
		if i%20 == 0 {
			return 11
		}
		return 10
	}
	req := Request{Method: "GET", URI: "/api/items/7"}
	tests := []noiseCase{
		{
			name: "secondary",
			exchange: func(i int) *Exchange {
				return &Exchange{Request: req, Legacy: noisyAnswer(3*i, 10, true),
					Secondary: noisyAnswer(3*i+1, 10, true), Candidate: noisyAnswer(3*i+2, price(i), true)}
			},
			wantFields: []FieldSummary{
				{Path: "body.price", Kind: KindChanged, Count: 50, Noise: 0, Reported: true, NoiseOf: n},
				{Path: "body.ts", Kind: KindChanged, Count: n, Noise: n, Why: whyLegacyVaries, NoiseOf: n, Suppressed: n},
				{Path: "header.X-Request-Id", Kind: KindChanged, Count: n, Noise: n, Why: whyLegacyVaries, NoiseOf: n, Suppressed: n},
			},
			different: 50,
		},
		{
			name: "learned from legacy answering twice",
			exchange: func(i int) *Exchange {
				return &Exchange{Request: req, Legacy: noisyAnswer(2*i, 10, true), Candidate: noisyAnswer(2*i+1, price(i), true)}
			},
			noiseSample: func(i int) (*Response, *Response) {
				return noisyAnswer(-2*i-1, 10, true), noisyAnswer(-2*i-2, 10, true)
			},
			wantFields: []FieldSummary{
				{Path: "body.price", Kind: KindChanged, Count: 50, Noise: 0, Reported: true, NoiseOf: 100},
				{Path: "body.ts", Kind: KindChanged, Count: n, Noise: 100, Why: whyLegacyVaries, NoiseOf: 100, Suppressed: n},
				{Path: "header.X-Request-Id", Kind: KindChanged, Count: n, Noise: 100, Why: whyLegacyVaries, NoiseOf: 100, Suppressed: n},
			},
			different: 50,
		},
		{
			// Legacy asked twice in a row agrees on the timestamp 70% of
			// the time; against the candidate it always differs.
			name: "nearly every exchange and legacy varies",
			exchange: func(i int) *Exchange {
				return &Exchange{Request: req, Legacy: noisyAnswer(2*i, 10, true), Candidate: noisyAnswer(2*i+1, 10, true)}
			},
			noiseSample: func(i int) (*Response, *Response) {
				first := noisyAnswer(-1, 10, true)
				if i%10 < 3 {
					return first, noisyAnswer(-2, 10, true)
				}
				return first, first
			},
			wantFields: []FieldSummary{
				{Path: "body.ts", Kind: KindChanged, Count: n, Noise: 30, Why: whyLegacyVaries, NoiseOf: 100, Suppressed: n},
				{Path: "header.X-Request-Id", Kind: KindChanged, Count: n, Noise: 30, Why: whyLegacyVaries, NoiseOf: 100, Suppressed: n},
			},
		},
		{
			// A candidate that drops a noisy field is a real difference:
			// noise is counted by path and kind.
			name: "candidate drops a noisy field",
			exchange: func(i int) *Exchange {
				return &Exchange{Request: req, Legacy: noisyAnswer(3*i, 10, true),
					Secondary: noisyAnswer(3*i+1, 10, true), Candidate: noisyAnswer(3*i+2, 10, i%2 == 1)}
			},
			wantFields: []FieldSummary{
				{Path: "body.ts", Kind: KindChanged, Count: n / 2, Noise: n, Why: whyNoise, NoiseOf: n, Suppressed: n / 2},
				{Path: "body.ts", Kind: KindMissing, Count: n / 2, Noise: 0, Reported: true, NoiseOf: n},
				{Path: "header.X-Request-Id", Kind: KindChanged, Count: n, Noise: n, Why: whyLegacyVaries, NoiseOf: n, Suppressed: n},
			},
			different: n / 2,
		},
	}
	// The package's Comparer (the zero config's) and the stand-in must
	// agree: the aggregator sees the same paths from both.
	comparers := []struct {
		name    string
		compare func(legacy, candidate *Response) []Difference
	}{{"Comparer", nil}, {"stand-in", flatCompare}}
	for _, tt := range tests {
		for _, c := range comparers {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				checkNoiseCase(t, tt, NewAggregator(AggregatorConfig{Compare: c.compare}))
			})
		}
	}
}

func checkNoiseCase(t *testing.T, tt noiseCase, a *Aggregator) {
	t.Helper()
	req := tt.exchange(0).Request
	if tt.noiseSample != nil {
		for i := range 100 {
			first, second := tt.noiseSample(i)
			a.AddNoiseSample(req, first, second)
		}
	}
	for i := range noiseExchanges {
		a.Add(tt.exchange(i))
	}
	s := a.Summary("replay")
	if len(s.Endpoints) != 1 {
		t.Fatalf("endpoints = %d, want 1", len(s.Endpoints))
	}
	got := s.Endpoints[0].Fields
	// Why is checked only where the case says it.
	ignore := cmpopts.IgnoreFields(FieldSummary{}, "Samples", "Rate", "NoiseRate", "Why")
	if diff := cmp.Diff(tt.wantFields, got, ignore); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	for i, f := range got {
		if i < len(tt.wantFields) && tt.wantFields[i].Why != "" && f.Why != tt.wantFields[i].Why {
			t.Errorf("%s %s: why = %q, want %q", f.Path, f.Kind, f.Why, tt.wantFields[i].Why)
		}
	}
	if s.Counts.Different != tt.different {
		t.Errorf("different = %d, want %d", s.Counts.Different, tt.different)
	}
}

func TestNoiseReport(t *testing.T) {
	t.Parallel()
	cfg := NoiseConfig{}.withDefaults()
	tests := []struct {
		name  string
		rates fieldRates
		want  bool
		why   string
	}{
		{name: "no noise", rates: fieldRates{count: 5, compared: 100}, want: true},
		{name: "within the relative margin", rates: fieldRates{count: 11, compared: 100, noise: 10, noiseN: 100}, why: whyNoise},
		{name: "over both margins", rates: fieldRates{count: 13, compared: 100, noise: 10, noiseN: 100}, want: true},
		{name: "under the absolute margin", rates: fieldRates{count: 2, compared: 10000}, why: whyRare},
		{name: "nearly all and legacy varies", rates: fieldRates{count: 96, compared: 100, noise: 1, noiseN: 100}, why: whyLegacyVaries},
		{name: "nearly all, legacy never varies", rates: fieldRates{count: 96, compared: 100, noiseN: 100}, want: true},
		{name: "noise rate from fewer observations", rates: fieldRates{count: 500, compared: 1000, noise: 50, noiseN: 100}, why: whyNoise},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, why := cfg.report(tt.rates)
			if got != tt.want || why != tt.why {
				t.Errorf("report(%+v) = %v, %q; want %v, %q", tt.rates, got, why, tt.want, tt.why)
			}
		})
	}
}

// TestNoisePooled checks that an endpoint without noise observations of its
// own uses those of all endpoints.
func TestNoisePooled(t *testing.T) {
	t.Parallel()
	a := NewAggregator(AggregatorConfig{Compare: flatCompare})
	for i := range 20 {
		a.AddNoiseSample(Request{Method: "GET", URI: "/a"}, noisyAnswer(-2*i, 10, false), noisyAnswer(-2*i-1, 10, false))
	}
	for i := range 20 {
		a.Add(&Exchange{Request: Request{Method: "GET", URI: "/b"}, Legacy: noisyAnswer(2*i, 10, false), Candidate: noisyAnswer(2*i+1, 10, false)})
	}
	s := a.Summary("mirror")
	want := []FieldSummary{{Path: "header.X-Request-Id", Kind: KindChanged, Count: 20, Noise: 20, NoiseOf: 20,
		Why: whyLegacyVaries, Rate: 1, NoiseRate: 1, NoiseFrom: "all endpoints", Suppressed: 20}}
	var got []FieldSummary
	for _, e := range s.Endpoints {
		if e.Endpoint == "GET /b" {
			got = e.Fields
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(FieldSummary{}, "Samples")); diff != "" {
		t.Errorf("fields of GET /b (-want +got):\n%s", diff)
	}
	if s.Counts.Different != 0 {
		t.Errorf("different = %d, want 0", s.Counts.Different)
	}
}
