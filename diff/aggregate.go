package diff

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// AggregatorConfig shapes an Aggregator. The zero value is usable: each
// field documents its default in brackets.
//
// Memory is bounded whatever the number of exchanges. Per endpoint it is
// about 50 KB of histograms and 16 KB of latency reservoir (from the first
// compared exchange on), plus MaxFields field counters; samples are bounded
// by MaxSamples overall. With the defaults, 1,000 busy endpoints hold about
// 64 MB (BENCHMARKS.md).
type AggregatorConfig struct {
	// Rules are the comparison rules, endpoint templates and redacted
	// headers [nil: the defaults of NewComparer and Rules.Endpoint].
	Rules *Rules
	// Compare replaces the comparer built from Rules [NewComparer(Rules)].
	Compare func(legacy, candidate *Response) []Difference
	// Endpoint replaces the endpoint naming of Rules [Rules.Endpoint].
	Endpoint func(method, uri string) string

	// MaxEndpoints caps the endpoints tracked [1000]; requests of others
	// count under OverflowEndpoint.
	MaxEndpoints int
	// MaxFields caps the fields (path and kind) per endpoint [100]; others
	// count under the path OverflowPath.
	MaxFields int
	// SamplesPerField is how many exchanges are kept per field, and per
	// endpoint for failures [3]; negative keeps none.
	SamplesPerField int
	// MaxSamples caps the samples kept overall [10000].
	MaxSamples int
	// SampleBodyBytes cuts bodies and values in samples [2048].
	SampleBodyBytes int
	// RedactHeaders are headers whose values samples hide, besides
	// Authorization, Proxy-Authorization, Cookie, Set-Cookie and the
	// globs of Rules.Headers.Redact.
	RedactHeaders []string

	// ReservoirSize is how many exchanges per endpoint, and overall, are
	// kept as a uniform random sample (reservoir sampling) for the
	// latency test [2000]. The Mann-Whitney test needs values, and 2,000
	// per side detect a few percent of shift; more cost time, not power.
	ReservoirSize int
	// Seed seeds the aggregator's own random source, used only for the
	// reservoirs, so that a run's summary is reproducible [0].
	Seed uint64

	// SeriesInterval is the time series' interval [10s]; SeriesPoints
	// bounds its intervals [360], merging neighbours beyond (series.go).
	SeriesInterval time.Duration
	SeriesPoints   int

	Noise   NoiseConfig
	Latency LatencyConfig
	Verdict VerdictConfig
}

// The names under which what exceeds a cap is counted.
const (
	OverflowEndpoint = "OTHER"
	OverflowPath     = "OTHER"
)

// maxSkipReasons bounds the skip reasons; reasons come from code, so more
// means a bug, but memory stays bounded anyway.
const maxSkipReasons = 64

func (c AggregatorConfig) withDefaults() AggregatorConfig {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxEndpoints, 1000)
	def(&c.MaxFields, 100)
	def(&c.SamplesPerField, 3)
	def(&c.MaxSamples, 10000)
	def(&c.SampleBodyBytes, 2048)
	def(&c.ReservoirSize, 2000)
	c.SamplesPerField = max(c.SamplesPerField, 0)
	if c.Endpoint == nil {
		c.Endpoint = c.Rules.Endpoint
	}
	if c.Compare == nil {
		c.Compare = NewComparer(c.Rules).Compare
	}
	c.Noise = c.Noise.withDefaults()
	c.Latency = c.Latency.withDefaults()
	return c
}

// Aggregator turns exchanges into counts, noise-aware field statistics,
// samples and latency distributions, per endpoint and overall. Its methods
// are safe for concurrent use; comparison runs outside its lock.
type Aggregator struct {
	cfg     AggregatorConfig
	sampler sampler

	mu                        sync.Mutex
	rng                       *rand.Rand
	counts                    Counts
	endpoints                 map[string]*endpointState
	noise                     noiseTable
	legacy                    *latencyHist // Total, compared exchanges
	candidate                 *latencyHist
	legacyTTFB, candidateTTFB *latencyHist
	reservoir                 pairReservoir
	samples                   int
	// inherited is the noise a window starts with, per endpoint, applied
	// when the endpoint is first seen (see Window).
	inherited map[string]noiseTable
	extra     runExtras // observe.go
}

// NewAggregator returns an empty aggregator.
func NewAggregator(cfg AggregatorConfig) *Aggregator {
	return newAggregator(cfg.withDefaults())
}

func newAggregator(cfg AggregatorConfig) *Aggregator {
	return &Aggregator{
		cfg:       cfg,
		sampler:   newSampler(cfg.RedactHeaders, cfg.Rules, cfg.SampleBodyBytes),
		rng:       rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
		counts:    Counts{Skipped: map[string]int64{}},
		endpoints: map[string]*endpointState{},
		noise:     noiseTable{byKey: map[fieldKey]int64{}, limit: 16 * cfg.MaxFields},
		legacy:    newLatencyHist(), candidate: newLatencyHist(),
		legacyTTFB: newLatencyHist(), candidateTTFB: newLatencyHist(),
		reservoir: pairReservoir{size: cfg.ReservoirSize},
	}
}

// Endpoint names the endpoint of a request as Add does, for callers of Skip.
func (a *Aggregator) Endpoint(method, uri string) string { return a.cfg.Endpoint(method, uri) }

// Skip counts a request that was not compared, for reason (e.g. "unsafe",
// "body_over_cap", "queue_full", "gap", "sampled_out"). endpoint may be
// empty when the request could not be parsed: it then counts only overall.
func (a *Aggregator) Skip(endpoint, reason string) {
	if reason == "" {
		reason = "unknown"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts.Requests++
	reason = boundedKey(a.counts.Skipped, reason)
	a.counts.Skipped[reason]++
	if endpoint == "" {
		return
	}
	ep := a.endpoint(endpoint)
	ep.requests++
	ep.skipped[boundedKey(ep.skipped, reason)]++
}

func boundedKey(m map[string]int64, k string) string {
	if _, ok := m[k]; ok || len(m) < maxSkipReasons {
		return k
	}
	return "other"
}

// Comparison is one exchange compared, ready to be recorded: comparing is
// the costly half of Add (decoding and walking both bodies), recording the
// cheap one. A source that counts an exchange in more than one aggregator
// of the same configuration (a run and its current window) compares once
// and records the one Comparison into each.
type Comparison struct {
	ex                            *Exchange
	endpoint                      string
	legacyFailed, candidateFailed bool
	measured                      bool // the secondary answered: noise measured
	raw, noise                    []keyedDiff
}

// Exchange is the exchange compared.
func (c *Comparison) Exchange() *Exchange { return c.ex }

// Compare compares ex under a's configuration without counting it.
// It takes no lock. ex is retained by the Comparison.
func (a *Aggregator) Compare(ex *Exchange) *Comparison {
	c := &Comparison{
		ex:              ex,
		endpoint:        a.Endpoint(ex.Request.Method, ex.Request.URI),
		legacyFailed:    ex.Legacy.Failed(),
		candidateFailed: ex.Candidate.Failed(),
	}
	if !c.legacyFailed && !c.candidateFailed {
		c.raw = distinctKeys(a.cfg.Compare(ex.Legacy, ex.Candidate))
	}
	c.measured = !c.legacyFailed && ex.Secondary != nil && !ex.Secondary.Failed()
	if c.measured {
		c.noise = distinctKeys(a.cfg.Compare(ex.Legacy, ex.Secondary))
	}
	return c
}

// Add counts one exchange: Record(Compare(ex)).
func (a *Aggregator) Add(ex *Exchange) { a.Record(a.Compare(ex)) }

// Record counts one compared exchange: failed when legacy or candidate
// gave no HTTP answer, else compared, and different when at least one
// difference is not noise for it. A difference is noise for its exchange
// when the secondary differed from legacy at the same path and kind in
// that exchange, or when legacy is known to vary there about as often
// (NoiseConfig, without its absolute margin). Whether a field is reported
// is decided later, in Summary, from the final counts; so a difference
// under the absolute margin can make its exchange different without its
// field being reported.
//
// c must come from Compare of an aggregator with a's configuration (a
// itself, or the aggregator a Window was made from).
func (a *Aggregator) Record(c *Comparison) {
	ex, name, raw, noise := c.ex, c.endpoint, c.raw, c.noise
	legacyFailed, candidateFailed, measured := c.legacyFailed, c.candidateFailed, c.measured

	a.mu.Lock()
	defer a.mu.Unlock()
	ep := a.endpoint(name)
	defer a.observe(ep, ex, raw, noise) // groups, 5xx, time series (observe.go)
	a.counts.Requests++
	ep.requests++
	if measured {
		ep.addNoise(noise, a.cfg.MaxFields)
		a.noise.add(noise)
	}
	if legacyFailed || candidateFailed {
		a.addFailure(ep, ex, legacyFailed, candidateFailed)
		return
	}
	a.counts.Compared++
	ep.compared++
	a.addLatency(ep, ex)

	var req *RequestSample // built once, shared by this exchange's samples
	different := false
	for _, d := range raw {
		k, f := ep.field(d.key, a.cfg.MaxFields)
		f.count++
		isNoise := containsKey(noise, d.key) || a.cfg.Noise.isNoise(a.rates(ep, k, f))
		if isNoise {
			f.suppressed++
		} else {
			different = true
		}
		if len(f.samples) < a.cfg.SamplesPerField && a.samples < a.cfg.MaxSamples {
			if req == nil {
				req = a.sampler.request(&ex.Request)
			}
			f.samples = append(f.samples, FieldSample{
				Time: sampleTime(ex.Time), Request: req,
				Legacy:    a.sampler.value(d.diff.Path, d.diff.Legacy),
				Candidate: a.sampler.value(d.diff.Path, d.diff.Candidate),
				Detail:    a.sampler.value(d.diff.Path, d.diff.Detail),
				Noise:     isNoise,
			})
			a.samples++
		}
	}
	if different {
		a.counts.Different++
		ep.different++
	}
}

func (a *Aggregator) addFailure(ep *endpointState, ex *Exchange, legacyFailed, candidateFailed bool) {
	side := "both"
	switch {
	case legacyFailed && candidateFailed:
		a.counts.Failed.Both++
		ep.failed.Both++
	case legacyFailed:
		side = "legacy"
		a.counts.Failed.Legacy++
		ep.failed.Legacy++
	default:
		side = "candidate"
		a.counts.Failed.Candidate++
		ep.failed.Candidate++
	}
	if len(ep.failures) < a.cfg.SamplesPerField && a.samples < a.cfg.MaxSamples {
		s := FailureSample{Time: sampleTime(ex.Time), Request: a.sampler.request(&ex.Request), Side: side}
		if legacyFailed {
			s.LegacyError = a.sampler.params.text(transportError(ex.Legacy))
		}
		if candidateFailed {
			s.CandidateError = a.sampler.params.text(transportError(ex.Candidate))
		}
		ep.failures = append(ep.failures, s)
		a.samples++
	}
}

func transportError(r *Response) string {
	if r == nil {
		return "no response"
	}
	return r.Err
}

// addLatency records the answer times of a compared exchange. Failed
// exchanges are left out: the time to a refusal or a timeout is not an
// answer time, and pairs keep both sides' samples alike.
func (a *Aggregator) addLatency(ep *endpointState, ex *Exchange) {
	l, c := ex.Legacy, ex.Candidate
	a.legacy.record(l.Total)
	a.candidate.record(c.Total)
	a.legacyTTFB.record(l.TTFB)
	a.candidateTTFB.record(c.TTFB)
	ep.legacy.record(l.Total)
	ep.candidate.record(c.Total)
	a.reservoir.add(a.rng, l.Total, c.Total)
	ep.reservoir.add(a.rng, l.Total, c.Total)
}

// endpoint returns the state of name, created on first sight, or of the
// overflow endpoint once MaxEndpoints are tracked. Caller holds a.mu.
func (a *Aggregator) endpoint(name string) *endpointState {
	if ep, ok := a.endpoints[name]; ok {
		return ep
	}
	if len(a.endpoints) >= a.cfg.MaxEndpoints {
		name = OverflowEndpoint
		if ep, ok := a.endpoints[name]; ok {
			return ep
		}
	}
	ep := &endpointState{
		skipped:   map[string]int64{},
		fields:    map[fieldKey]*fieldState{},
		legacy:    newLatencyHist(),
		candidate: newLatencyHist(),
		reservoir: pairReservoir{size: a.cfg.ReservoirSize},
	}
	if inh, ok := a.inherited[name]; ok {
		ep.noiseN = inh.n
		for k, n := range inh.byKey {
			_, f := ep.field(k, a.cfg.MaxFields)
			f.noise = n
		}
	}
	a.endpoints[name] = ep
	return ep
}

// endpointState is what the aggregator keeps about one endpoint.
type endpointState struct {
	requests, compared, different int64
	skipped                       map[string]int64
	failed                        Failed
	failures                      []FailureSample

	fields map[fieldKey]*fieldState
	noiseN int64 // noise observations: secondary answers and noise samples

	legacy, candidate *latencyHist
	reservoir         pairReservoir
	extra             endpointExtras // observe.go
}

// fieldState counts one field: count compared exchanges differ there,
// suppressed of them as noise; noise of the endpoint's noise observations.
type fieldState struct {
	count, suppressed, noise int64
	samples                  []FieldSample
}

// field returns the key actually used and the state of k, created on first
// sight, or of the overflow path once limit fields are tracked.
func (ep *endpointState) field(k fieldKey, limit int) (fieldKey, *fieldState) {
	if f, ok := ep.fields[k]; ok {
		return k, f
	}
	if len(ep.fields) >= limit {
		k.path = OverflowPath
		if f, ok := ep.fields[k]; ok {
			return k, f
		}
	}
	f := &fieldState{}
	ep.fields[k] = f
	return k, f
}

func (ep *endpointState) addNoise(keys []keyedDiff, limit int) {
	ep.noiseN++
	for _, k := range keys {
		_, f := ep.field(k.key, limit)
		f.noise++
	}
}

// fieldKey identifies a field: a path and how it differs.
type fieldKey struct {
	path string
	kind Kind
}

func (k fieldKey) compare(o fieldKey) int {
	return cmp.Or(cmp.Compare(k.path, o.path), cmp.Compare(k.kind, o.kind))
}

// keyedDiff is the first difference of an exchange at one field.
type keyedDiff struct {
	key  fieldKey
	diff *Difference
}

// distinctKeys returns one difference per field, sorted by field: array
// elements share a path, and an exchange counts once per field.
func distinctKeys(diffs []Difference) []keyedDiff {
	out := make([]keyedDiff, 0, len(diffs))
	for i := range diffs {
		out = append(out, keyedDiff{fieldKey{diffs[i].Path, diffs[i].Kind}, &diffs[i]})
	}
	slices.SortStableFunc(out, func(a, b keyedDiff) int { return a.key.compare(b.key) })
	return slices.CompactFunc(out, func(a, b keyedDiff) bool { return a.key == b.key })
}

func containsKey(keys []keyedDiff, k fieldKey) bool {
	_, found := slices.BinarySearchFunc(keys, k, func(e keyedDiff, k fieldKey) int { return e.key.compare(k) })
	return found
}
