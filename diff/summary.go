package diff

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// SummarySchema names the summary JSON format of DESIGN.md.
const SummarySchema = "cutover.summary/v1"

// Summary is the summary JSON of DESIGN.md: it marshals to exactly the
// fields the design fixes, plus extras. Endpoints are sorted by name,
// fields by path then kind, so equal inputs give equal bytes.
type Summary struct {
	Schema    string            `json:"schema"`
	Source    string            `json:"source"`
	Counts    Counts            `json:"counts"`
	Endpoints []EndpointSummary `json:"endpoints"`
	// LatencyMs is the answer time (to the last byte) of compared
	// exchanges, with a percentile curve per side; TTFBMs the time to the
	// first byte.
	LatencyMs      SideLatency    `json:"latency_ms"`
	TTFBMs         SideLatency    `json:"ttfb_ms"`
	LatencyVerdict LatencyVerdict `json:"latency_verdict"`
	// PacingMs is for replay to fill: how late requests were sent against
	// the capture's pace. The aggregator leaves it nil.
	PacingMs *Percentiles `json:"pacing_ms,omitempty"`
	Verdict  string       `json:"verdict"`
	Reasons  []string     `json:"reasons"`
	// Status5xx counts the compared exchanges each side answered with a
	// server error (5xx), so that a candidate's 502s read as an error rate.
	Status5xx Sides `json:"status_5xx"`
	// Series is the run over time (series.go); nil when no exchange had a time.
	Series *Series `json:"series,omitempty"`
	// Run says where the figures come from (provenance.go).
	Run *RunInfo `json:"run,omitempty"`
	// Limits are the limits the verdict was judged by.
	Limits *Limits `json:"limits,omitempty"`
	// Extra holds what a source adds that has no field here.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Counts are the request counts; see Check for their invariant.
type Counts struct {
	Requests  int64            `json:"requests"`
	Skipped   map[string]int64 `json:"skipped"`
	Compared  int64            `json:"compared"`
	Failed    Failed           `json:"failed"`
	Different int64            `json:"different"`
}

// Failed counts the exchanges in which a side gave no HTTP answer.
type Failed struct {
	Legacy    int64 `json:"legacy"`
	Candidate int64 `json:"candidate"`
	Both      int64 `json:"both"`
}

// SideLatency is one latency distribution per side.
type SideLatency struct {
	Legacy    Percentiles `json:"legacy"`
	Candidate Percentiles `json:"candidate"`
}

// EndpointSummary is one endpoint's part of the summary. Its counts obey
// the same invariant as the run's.
type EndpointSummary struct {
	Endpoint       string           `json:"endpoint"`
	Requests       int64            `json:"requests"`
	Compared       int64            `json:"compared"`
	Different      int64            `json:"different"`
	Skipped        map[string]int64 `json:"skipped,omitempty"`
	Failed         Failed           `json:"failed"`
	Fields         []FieldSummary   `json:"fields"`
	LatencyMs      SideLatency      `json:"latency_ms"`
	LatencyVerdict LatencyVerdict   `json:"latency_verdict"`
	Failures       []FailureSample  `json:"failures,omitempty"`
	Status5xx      Sides            `json:"status_5xx"`
	// Groups are the differing exchanges by their set of differing fields,
	// largest first (group.go); OtherGroups counts those of further sets.
	Groups      []GroupSummary `json:"groups,omitempty"`
	OtherGroups int64          `json:"other_groups,omitempty"`
}

// FieldSummary is one field of an endpoint: Count compared exchanges
// differ there, Noise of NoiseOf noise observations (legacy against
// itself) do. Reported says whether the difference stands out of the
// noise; Why says why not.
type FieldSummary struct {
	Path      string  `json:"path"`
	Kind      Kind    `json:"kind"`
	Count     int64   `json:"count"`
	Noise     int64   `json:"noise"`
	Reported  bool    `json:"reported"`
	Why       string  `json:"why,omitempty"`
	Rate      float64 `json:"rate"`
	NoiseOf   int64   `json:"noise_of"`
	NoiseRate float64 `json:"noise_rate"`
	// NoiseFrom is "all endpoints" when the endpoint had no noise
	// observation of its own and the pooled noise was used.
	NoiseFrom string `json:"noise_from,omitempty"`
	// Suppressed is how many of Count were noise for their own exchange
	// and did not make it different.
	Suppressed int64         `json:"suppressed"`
	Samples    []FieldSample `json:"samples,omitempty"`
}

// Check verifies the invariant of DESIGN.md: requests == sum(skipped) +
// compared + failed.legacy + failed.candidate + failed.both, and that no
// more exchanges differ than were compared.
func (c Counts) Check() error {
	for _, n := range []struct {
		name string
		v    int64
	}{{"requests", c.Requests}, {"compared", c.Compared}, {"different", c.Different},
		{"failed.legacy", c.Failed.Legacy}, {"failed.candidate", c.Failed.Candidate}, {"failed.both", c.Failed.Both}} {
		if n.v < 0 {
			return fmt.Errorf("counts.%s is negative (%d)", n.name, n.v)
		}
	}
	var skipped int64
	for _, reason := range slices.Sorted(maps.Keys(c.Skipped)) {
		n := c.Skipped[reason]
		if n < 0 {
			return fmt.Errorf("counts.skipped.%s is negative (%d)", reason, n)
		}
		skipped += n
	}
	accounted := skipped + c.Compared + c.Failed.Legacy + c.Failed.Candidate + c.Failed.Both
	if accounted != c.Requests {
		return fmt.Errorf("counts do not add up: %d requests, %d skipped + %d compared + %d+%d+%d failed = %d",
			c.Requests, skipped, c.Compared, c.Failed.Legacy, c.Failed.Candidate, c.Failed.Both, accounted)
	}
	if c.Different > c.Compared {
		return fmt.Errorf("counts do not add up: %d different of %d compared", c.Different, c.Compared)
	}
	return nil
}

// ParseSummary reads a summary JSON written by this or a compatible
// version: unknown fields are ignored, another schema is an error.
func ParseSummary(data []byte) (*Summary, error) {
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse summary: %w", err)
	}
	if s.Schema != SummarySchema {
		return nil, fmt.Errorf("parse summary: schema %q, want %q", s.Schema, SummarySchema)
	}
	if s.Verdict != VerdictPass && s.Verdict != VerdictFail {
		return nil, errors.New("parse summary: verdict is neither pass nor fail")
	}
	return &s, nil
}

// Summary returns the aggregate so far, judged by the configured verdict,
// for source ("replay" or "mirror"). It may be called at any time, also
// while exchanges are being added; the latency tests run outside the lock.
func (a *Aggregator) Summary(source string) Summary {
	s, tests, jobs := a.snapshot(source)
	jobs.run(&s)
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		e.LatencyVerdict = a.judgeLatency(tests[i], e.LatencyMs)
	}
	s.LatencyVerdict = a.judgeLatency(tests[len(tests)-1], s.LatencyMs)
	s.Verdict, s.Reasons = a.cfg.Verdict.Judge(&s)
	s.Limits = a.limits()
	return s
}

// latencySample is a copy of a reservoir, tested after the lock is released.
type latencySample struct{ legacy, candidate []float64 }

func sampleOf(r *pairReservoir) latencySample {
	l, c := r.values()
	return latencySample{l, c}
}

func (a *Aggregator) judgeLatency(t latencySample, p SideLatency) LatencyVerdict {
	v := JudgeLatency(t.legacy, t.candidate, a.cfg.Latency)
	v.P50Ratio = ratio(p.Candidate.P50, p.Legacy.P50)
	v.P99Ratio = ratio(p.Candidate.P99, p.Legacy.P99)
	v.P50Change = quantileChange(t.legacy, t.candidate, 0.50, 1-a.cfg.Latency.Alpha, p.Legacy.P50, p.Candidate.P50)
	v.P99Change = quantileChange(t.legacy, t.candidate, 0.99, 1-a.cfg.Latency.Alpha, p.Legacy.P99, p.Candidate.P99)
	return v
}

// snapshot copies the state under the lock. tests holds each endpoint's
// reservoir in the order of s.Endpoints, then the overall one.
func (a *Aggregator) snapshot(source string) (Summary, []latencySample, histJobs) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var jobs histJobs
	s := Summary{
		Schema:    SummarySchema,
		Source:    source,
		Counts:    a.counts,
		Endpoints: make([]EndpointSummary, 0, len(a.endpoints)),
		LatencyMs: SideLatency{a.legacy.percentilesWithCurve(), a.candidate.percentilesWithCurve()},
		TTFBMs:    SideLatency{a.legacyTTFB.percentiles(), a.candidateTTFB.percentiles()},
		Reasons:   []string{},
		Status5xx: a.extra.status5xx,
		Series:    a.extra.series.snapshot(a.extra.weights.seen || source == "mirror", &jobs),
		Run:       a.runInfo(source),
	}
	s.Counts.Skipped = maps.Clone(a.counts.Skipped)
	names := slices.Sorted(maps.Keys(a.endpoints))
	tests := make([]latencySample, 0, len(names)+1)
	for i, name := range names {
		ep := a.endpoints[name]
		s.Endpoints = append(s.Endpoints, a.endpointSummary(name, ep))
		tests = append(tests, sampleOf(&ep.reservoir))
		jobs.add(ep.legacy, func(s *Summary) *string { return &s.Endpoints[i].LatencyMs.Legacy.Hist })
		jobs.add(ep.candidate, func(s *Summary) *string { return &s.Endpoints[i].LatencyMs.Candidate.Hist })
	}
	tests = append(tests, sampleOf(&a.reservoir))
	jobs.add(a.legacy, func(s *Summary) *string { return &s.LatencyMs.Legacy.Hist })
	jobs.add(a.candidate, func(s *Summary) *string { return &s.LatencyMs.Candidate.Hist })
	jobs.add(a.legacyTTFB, func(s *Summary) *string { return &s.TTFBMs.Legacy.Hist })
	jobs.add(a.candidateTTFB, func(s *Summary) *string { return &s.TTFBMs.Candidate.Hist })
	return s, tests, jobs
}

func (a *Aggregator) endpointSummary(name string, ep *endpointState) EndpointSummary {
	e := EndpointSummary{
		Endpoint:    name,
		Requests:    ep.requests,
		Compared:    ep.compared,
		Different:   ep.different,
		Failed:      ep.failed,
		Fields:      make([]FieldSummary, 0, len(ep.fields)),
		LatencyMs:   SideLatency{ep.legacy.percentiles(), ep.candidate.percentiles()},
		Failures:    slices.Clone(ep.failures),
		Status5xx:   ep.extra.status5xx,
		Groups:      groupSummaries(ep.extra.groups),
		OtherGroups: ep.extra.otherGroups,
	}
	if len(ep.skipped) > 0 {
		e.Skipped = maps.Clone(ep.skipped)
	}
	keys := slices.SortedFunc(maps.Keys(ep.fields), fieldKey.compare)
	for _, k := range keys {
		f := ep.fields[k]
		r := a.rates(ep, k, f)
		reported, why := a.cfg.Noise.report(r)
		row := FieldSummary{
			Path: k.path, Kind: k.kind, Count: f.count, Noise: r.noise, Reported: reported,
			Rate: roundSignificant(r.raw(), 4), NoiseOf: r.noiseN, NoiseRate: roundSignificant(r.noiseRate(), 4),
			Suppressed: f.suppressed, Samples: slices.Clone(f.samples),
		}
		if !reported {
			row.Why = why
		}
		if ep.noiseN == 0 && r.noiseN > 0 {
			row.NoiseFrom = "all endpoints"
		}
		e.Fields = append(e.Fields, row)
	}
	return e
}

// ReportedFields returns the endpoint's reported fields, most frequent
// first, for reasons and reports.
func (e *EndpointSummary) ReportedFields() []FieldSummary {
	var out []FieldSummary
	for _, f := range e.Fields {
		if f.Reported {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(x, y FieldSummary) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Path, y.Path))
	})
	return out
}

// EndpointCounts are one endpoint's counts, as in its EndpointSummary.
type EndpointCounts struct {
	Endpoint  string
	Requests  int64
	Compared  int64
	Different int64
	Skipped   map[string]int64
	Failed    Failed
}

// Counts returns the counts so far, overall and per endpoint (sorted by
// name), without the field decisions and latency tests that make Summary
// cost milliseconds per endpoint: for metrics scrapes and progress lines.
func (a *Aggregator) Counts() (Counts, []EndpointCounts) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.counts
	c.Skipped = maps.Clone(a.counts.Skipped)
	eps := make([]EndpointCounts, 0, len(a.endpoints))
	for _, name := range slices.Sorted(maps.Keys(a.endpoints)) {
		ep := a.endpoints[name]
		eps = append(eps, EndpointCounts{Endpoint: name, Requests: ep.requests, Compared: ep.compared,
			Different: ep.different, Skipped: maps.Clone(ep.skipped), Failed: ep.failed})
	}
	return c, eps
}
