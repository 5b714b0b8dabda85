package diff

import (
	"slices"
	"time"
)

// What the aggregator keeps besides counts, fields and latency: server
// errors per side, exchanges grouped by their set of differing fields, the
// time series and the run's span. Add feeds it through observe, under the
// aggregator's lock, once per exchange.

// runExtras is the run-wide part.
type runExtras struct {
	status5xx   Sides
	series      *series
	first, last time.Time
	weights     weightSpan
	noiseSeen   int64 // exchanges with a secondary answer
}

// weightSpan is the candidate's share seen over the run.
type weightSpan struct {
	seen          bool
	min, max, now float64
}

// endpointExtras is one endpoint's part.
type endpointExtras struct {
	status5xx   Sides
	groups      map[string]*groupState
	otherGroups int64
}

// observe records ex once Add has counted it. raw are its differences
// (nil when a side failed), noise the secondary's against legacy. Caller
// holds a.mu.
func (a *Aggregator) observe(ep *endpointState, ex *Exchange, raw, noise []keyedDiff) {
	x := &a.extra
	if ex.Secondary != nil {
		x.noiseSeen++
	}
	if !ex.Time.IsZero() {
		if x.first.IsZero() || ex.Time.Before(x.first) {
			x.first = ex.Time
		}
		if ex.Time.After(x.last) {
			x.last = ex.Time
		}
	}
	if ex.Weight > 0 || x.weights.seen {
		w := &x.weights
		if !w.seen {
			w.seen, w.min, w.max = true, ex.Weight, ex.Weight
		}
		w.min, w.max, w.now = min(w.min, ex.Weight), max(w.max, ex.Weight), ex.Weight
	}
	var pt *seriesPoint
	if !ex.Time.IsZero() {
		if x.series == nil {
			x.series = newSeries(a.cfg.SeriesInterval, a.cfg.SeriesPoints)
		}
		pt = x.series.at(ex.Time)
		pt.exchanges++
		pt.weight = ex.Weight
	}
	if ex.Legacy.Failed() || ex.Candidate.Failed() {
		if pt != nil {
			pt.failed++
		}
		return
	}
	l5, c5 := is5xx(ex.Legacy), is5xx(ex.Candidate)
	for _, s := range []*Sides{&x.status5xx, &ep.extra.status5xx} {
		s.Legacy += b2i(l5)
		s.Candidate += b2i(c5)
	}

	// The exchange's differences, noise marked as Add decided it.
	refs := make([]FieldRef, 0, len(raw))
	var cause []FieldRef
	for _, d := range raw {
		k, f := ep.field(d.key, a.cfg.MaxFields)
		isNoise := containsKey(noise, d.key) || a.cfg.Noise.isNoise(a.rates(ep, k, f))
		r := FieldRef{Path: k.path, Kind: k.kind, Noise: isNoise}
		refs = append(refs, r)
		if !isNoise {
			cause = append(cause, FieldRef{Path: k.path, Kind: k.kind})
		}
	}
	if pt != nil {
		pt.compared++
		pt.different += b2i(len(cause) > 0)
		pt.l5xx += b2i(l5)
		pt.c5xx += b2i(c5)
		pt.legacy.record(ex.Legacy.Total)
		pt.candidate.record(ex.Candidate.Total)
	}
	if len(cause) == 0 {
		return
	}
	a.addToGroup(ep, ex, cause, refs)
}

func (a *Aggregator) addToGroup(ep *endpointState, ex *Exchange, cause, refs []FieldRef) {
	e := &ep.extra
	key := groupKey(cause)
	g, ok := e.groups[key]
	if !ok {
		if len(e.groups) >= maxGroups {
			e.otherGroups++
			return
		}
		if e.groups == nil {
			e.groups = map[string]*groupState{}
		}
		g = &groupState{fields: slices.Clone(cause)}
		e.groups[key] = g
	}
	g.count++
	if len(g.samples) < a.cfg.SamplesPerField && a.samples < a.cfg.MaxSamples {
		g.samples = append(g.samples, ExchangeSample{
			Time: sampleTime(ex.Time), Request: a.sampler.request(&ex.Request),
			Legacy: a.sampler.response(ex.Legacy), Candidate: a.sampler.response(ex.Candidate),
			Differences: refs,
		})
		a.samples++
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
