package diff

// Noise is what legacy disagrees with itself about: timestamps, request
// ids, shuffled sets. Following Twitter's Diffy, it is measured, per
// endpoint and field (path and kind), in one of two ways:
//
//   - with a secondary legacy instance, every exchange compares legacy with
//     secondary as well as with candidate;
//   - without one, AddNoiseSample takes exchanges in which the "candidate"
//     is a second legacy answer to the same request. Replay does this by
//     sending its first N requests to legacy twice before the real run.
//
// A field is reported only when candidate differs there clearly more often
// than legacy differs from itself (see NoiseConfig). Noise is counted by
// path and kind, not by path alone: a timestamp that changes on every
// answer is noise, but a candidate that drops it (kind missing) is not.

// NoiseConfig says how far a field's difference rate must exceed its noise
// rate to be reported. The zero value gives the defaults in brackets; a
// negative value means zero.
type NoiseConfig struct {
	// RelativeMargin: the raw rate must exceed the noise rate times
	// 1 + RelativeMargin [0.20].
	RelativeMargin float64
	// AbsoluteMargin: the raw rate must exceed the noise rate by this share
	// of the endpoint's compared exchanges [0.0003, i.e. 0.03%].
	AbsoluteMargin float64
	// NearlyAll: a field that differs on at least this share of the
	// compared exchanges, and on which legacy itself varies at all, is
	// noise whatever the rates [0.95]. Legacy-vs-legacy pairs are sent
	// closer together than legacy-vs-candidate ones, so a time-derived
	// field can vary less between them without being any less noise.
	NearlyAll float64
}

func (c NoiseConfig) withDefaults() NoiseConfig {
	c.RelativeMargin = orDefault(c.RelativeMargin, 0.20)
	c.AbsoluteMargin = orDefault(c.AbsoluteMargin, 0.0003)
	c.NearlyAll = orDefault(c.NearlyAll, 0.95)
	return c
}

// Why a field is not reported, as the summary says it.
const (
	whyNoise        = "noise"         // within the margins of the noise rate
	whyLegacyVaries = "legacy varies" // on nearly every exchange, and legacy varies there too
	whyRare         = "rare"          // under the absolute margin
)

// fieldRates are one field's counts: count of compared exchanges that
// differ there, and noise of noiseN noise observations.
type fieldRates struct {
	count, compared int64
	noise, noiseN   int64
}

func (r fieldRates) raw() float64 { return share(r.count, r.compared) }

func (r fieldRates) noiseRate() float64 { return share(r.noise, r.noiseN) }

func share(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// isNoise reports whether the field's differences are explained by noise:
// legacy varies there and the raw rate is nearly all or within the
// relative margin. The absolute margin is left out: it guards the report
// against rare flukes, not an exchange against counting as different.
func (c NoiseConfig) isNoise(r fieldRates) bool {
	if r.noise == 0 {
		return false
	}
	raw := r.raw()
	return raw >= c.NearlyAll || raw <= r.noiseRate()*(1+c.RelativeMargin)
}

// report decides whether the summary reports the field, and if not, why.
func (c NoiseConfig) report(r fieldRates) (bool, string) {
	switch {
	case r.count == 0:
		return false, whyNoise
	case r.noise > 0 && r.raw() >= c.NearlyAll:
		return false, whyLegacyVaries
	case r.raw() <= r.noiseRate()*(1+c.RelativeMargin):
		return false, whyNoise
	case r.raw()-r.noiseRate() <= c.AbsoluteMargin:
		return false, whyRare
	}
	return true, ""
}

// noiseTable pools noise over all endpoints, for endpoints that have no
// noise observation of their own (replay's first N requests need not
// cover every endpoint; request ids vary everywhere alike). It tracks at
// most limit fields (16 × MaxFields); later ones are not pooled.
type noiseTable struct {
	n     int64
	byKey map[fieldKey]int64
	limit int
}

func (t *noiseTable) add(keys []keyedDiff) {
	t.n++
	for _, k := range keys {
		if _, ok := t.byKey[k.key]; ok || len(t.byKey) < t.limit {
			t.byKey[k.key]++
		}
	}
}

// NoiseSample is two legacy answers to one request compared, ready to be
// recorded (see Comparison: compare once, record into run and window).
type NoiseSample struct {
	endpoint string
	keys     []keyedDiff
	useless  bool // an answer failed
}

// CompareNoise compares two answers of legacy to req without counting
// them. It takes no lock.
func (a *Aggregator) CompareNoise(req Request, first, second *Response) *NoiseSample {
	if first.Failed() || second.Failed() {
		return &NoiseSample{useless: true}
	}
	return &NoiseSample{endpoint: a.Endpoint(req.Method, req.URI), keys: distinctKeys(a.cfg.Compare(first, second))}
}

// AddNoiseSample records that two answers of legacy to the same request
// differ where they do: every difference is noise for req's endpoint.
// first and second are legacy's answers; a failed one makes the sample
// useless and it is ignored. It counts no request: the source calls Add or
// Skip for the request too if it also sent it to the candidate.
func (a *Aggregator) AddNoiseSample(req Request, first, second *Response) {
	a.RecordNoise(a.CompareNoise(req, first, second))
}

// RecordNoise records a sample made by CompareNoise.
func (a *Aggregator) RecordNoise(n *NoiseSample) {
	if n.useless {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.endpoint(n.endpoint).addNoise(n.keys, a.cfg.MaxFields)
	a.noise.add(n.keys)
}

// DefaultNoiseSamples is how many requests learn legacy's own noise, when
// there is no secondary and the source is not told otherwise: the same for
// every source.
const DefaultNoiseSamples = 100

// NoiseLearnable reports whether a request of method may be sent to legacy
// a second time to learn noise: only safe methods that read.
func NoiseLearnable(method string) bool { return method == "GET" || method == "HEAD" }

// rates returns the field's counts, with the noise of the endpoint or,
// when it has seen none, of all endpoints.
func (a *Aggregator) rates(ep *endpointState, k fieldKey, f *fieldState) fieldRates {
	r := fieldRates{count: f.count, compared: ep.compared, noise: f.noise, noiseN: ep.noiseN}
	if ep.noiseN == 0 {
		r.noise, r.noiseN = a.noise.byKey[k], a.noise.n
	}
	return r
}
