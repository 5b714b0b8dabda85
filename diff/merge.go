package diff

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// MergeSummaries merges the summaries of several sources (mirrors in
// several places, replays of several captures) into one: counts summed,
// latency merged from the histograms the summaries carry (never averaged),
// fields, groups and series merged, samples kept up to the bounds of one
// summary. The latency verdicts cannot be tested again without the
// samples: the merged one is the worst of the sources' (a regression in
// one is a regression), its ratios and changes from the merged histograms.
// The verdict is judged again under the first summary's limits.
func MergeSummaries(in []*Summary) (*Summary, error) {
	if len(in) == 0 {
		return nil, errors.New("merge summaries: none given")
	}
	if len(in) == 1 {
		return in[0], nil
	}
	out := &Summary{Schema: SummarySchema, Source: in[0].Source, Counts: Counts{Skipped: map[string]int64{}}, Reasons: []string{}}
	var hists sideHists
	eps := map[string]*endpointMerge{}
	var series []*Series
	run := &RunInfo{Sources: len(in)}
	for i, s := range in {
		if err := s.Counts.Check(); err != nil {
			return nil, fmt.Errorf("merge summaries: summary %d: %w", i+1, err)
		}
		if s.Source != out.Source {
			out.Source = strings.Join(uniqueSources(in), "+")
		}
		addCounts(&out.Counts, s.Counts)
		out.Status5xx = addSides(out.Status5xx, s.Status5xx)
		if err := hists.add(s.LatencyMs, s.TTFBMs); err != nil {
			return nil, fmt.Errorf("merge summaries: summary %d: %w", i+1, err)
		}
		for j := range s.Endpoints {
			e := &s.Endpoints[j]
			m, ok := eps[e.Endpoint]
			if !ok {
				m = &endpointMerge{EndpointSummary: EndpointSummary{Endpoint: e.Endpoint}, fields: map[fieldKey]*FieldSummary{}, groups: map[string]*GroupSummary{}}
				eps[e.Endpoint] = m
			}
			if err := m.add(e); err != nil {
				return nil, fmt.Errorf("merge summaries: summary %d, %s: %w", i+1, e.Endpoint, err)
			}
		}
		if s.Series != nil {
			series = append(series, s.Series)
		}
		mergeRun(run, s.Run)
	}
	out.LatencyMs, out.TTFBMs = hists.total.percentilesBoth(true), hists.ttfb.percentilesBoth(false)
	out.LatencyVerdict = worstVerdict(in, func(s *Summary) LatencyVerdict { return s.LatencyVerdict }, out.LatencyMs)
	for _, name := range slices.Sorted(maps.Keys(eps)) {
		m := eps[name]
		out.Endpoints = append(out.Endpoints, m.summary(in))
	}
	var err error
	if out.Series, err = mergeSeries(series); err != nil {
		return nil, fmt.Errorf("merge summaries: %w", err)
	}
	out.Run = run
	out.Limits = in[0].Limits
	out.Verdict, out.Reasons = verdictConfigOf(out.Limits).Judge(out)
	return out, nil
}

func uniqueSources(in []*Summary) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s.Source) {
			out = append(out, s.Source)
		}
	}
	return out
}

func addCounts(dst *Counts, c Counts) {
	dst.Requests += c.Requests
	dst.Compared += c.Compared
	dst.Different += c.Different
	dst.Failed = addFailed(dst.Failed, c.Failed)
	for k, n := range c.Skipped {
		if dst.Skipped == nil {
			dst.Skipped = map[string]int64{}
		}
		dst.Skipped[k] += n
	}
}

func addFailed(a, b Failed) Failed {
	return Failed{Legacy: a.Legacy + b.Legacy, Candidate: a.Candidate + b.Candidate, Both: a.Both + b.Both}
}

func addSides(a, b Sides) Sides { return Sides{a.Legacy + b.Legacy, a.Candidate + b.Candidate} }

// histPair is a side pair of merged histograms.
type histPair struct{ legacy, candidate *latencyHist }

func (h *histPair) add(l SideLatency) error {
	if h.legacy == nil {
		h.legacy, h.candidate = newLatencyHist(), newLatencyHist()
	}
	for _, side := range []struct {
		dst *latencyHist
		p   Percentiles
	}{{h.legacy, l.Legacy}, {h.candidate, l.Candidate}} {
		d, err := decodeHist(side.p)
		if err != nil {
			return err
		}
		side.dst.merge(d)
	}
	return nil
}

func (h *histPair) percentilesBoth(curve bool) SideLatency {
	if h.legacy == nil {
		return SideLatency{}
	}
	out := SideLatency{h.legacy.percentiles(), h.candidate.percentiles()}
	if curve {
		out = SideLatency{h.legacy.percentilesWithCurve(), h.candidate.percentilesWithCurve()}
	}
	out.Legacy.Hist, out.Candidate.Hist = h.legacy.encode(), h.candidate.encode()
	return out
}

type sideHists struct{ total, ttfb histPair }

func (s *sideHists) add(total, ttfb SideLatency) error {
	if err := s.total.add(total); err != nil {
		return err
	}
	return s.ttfb.add(ttfb)
}

// endpointMerge accumulates one endpoint over the summaries.
type endpointMerge struct {
	EndpointSummary
	hists    histPair
	fields   map[fieldKey]*FieldSummary
	groups   map[string]*GroupSummary
	verdicts []LatencyVerdict
}

func (m *endpointMerge) add(e *EndpointSummary) error {
	m.Requests += e.Requests
	m.Compared += e.Compared
	m.Different += e.Different
	m.Failed = addFailed(m.Failed, e.Failed)
	m.Status5xx = addSides(m.Status5xx, e.Status5xx)
	m.OtherGroups += e.OtherGroups
	for k, n := range e.Skipped {
		if m.Skipped == nil {
			m.Skipped = map[string]int64{}
		}
		m.Skipped[k] += n
	}
	if err := m.hists.add(e.LatencyMs); err != nil {
		return err
	}
	m.verdicts = append(m.verdicts, e.LatencyVerdict)
	if len(m.Failures) < 3 {
		m.Failures = append(m.Failures, e.Failures[:min(len(e.Failures), 3-len(m.Failures))]...)
	}
	for _, f := range e.Fields {
		k := fieldKey{f.Path, f.Kind}
		d, ok := m.fields[k]
		if !ok {
			c := f
			c.Samples = slices.Clone(f.Samples)
			m.fields[k] = &c
			continue
		}
		d.Count += f.Count
		d.Noise += f.Noise
		d.NoiseOf += f.NoiseOf
		d.Suppressed += f.Suppressed
		// Reported in one place is worth reading everywhere.
		d.Reported = d.Reported || f.Reported
		if d.Reported {
			d.Why = ""
		}
		if d.NoiseFrom == "" {
			d.NoiseFrom = f.NoiseFrom
		}
		if room := 3 - len(d.Samples); room > 0 {
			d.Samples = append(d.Samples, f.Samples[:min(room, len(f.Samples))]...)
		}
	}
	for _, g := range e.Groups {
		key := groupKey(g.Fields)
		d, ok := m.groups[key]
		if !ok {
			if len(m.groups) >= maxGroups {
				m.OtherGroups += g.Count
				continue
			}
			c := g
			c.Samples = slices.Clone(g.Samples)
			m.groups[key] = &c
			continue
		}
		d.Count += g.Count
		if room := 3 - len(d.Samples); room > 0 {
			d.Samples = append(d.Samples, g.Samples[:min(room, len(g.Samples))]...)
		}
	}
	return nil
}

func (m *endpointMerge) summary(in []*Summary) EndpointSummary {
	e := m.EndpointSummary
	e.LatencyMs = m.hists.percentilesBoth(false)
	e.LatencyVerdict = worstOf(m.verdicts, e.LatencyMs)
	e.Fields = make([]FieldSummary, 0, len(m.fields))
	for _, k := range slices.SortedFunc(maps.Keys(m.fields), fieldKey.compare) {
		f := *m.fields[k]
		f.Rate = roundSignificant(share(f.Count, e.Compared), 4)
		f.NoiseRate = roundSignificant(share(f.Noise, f.NoiseOf), 4)
		e.Fields = append(e.Fields, f)
	}
	for _, g := range m.groups {
		e.Groups = append(e.Groups, *g)
	}
	slices.SortFunc(e.Groups, func(a, b GroupSummary) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(groupKey(a.Fields), groupKey(b.Fields)))
	})
	return e
}

// worstVerdict merges the run's latency verdicts of the summaries.
func worstVerdict(in []*Summary, get func(*Summary) LatencyVerdict, p SideLatency) LatencyVerdict {
	vs := make([]LatencyVerdict, len(in))
	for i, s := range in {
		vs[i] = get(s)
	}
	return worstOf(vs, p)
}

// worstOf keeps the worst status (regression, then inconclusive, then
// ok, then not comparable: a source that judged latency says more than one
// that could not) and its figures; ratios and changes come from the merged
// histograms.
func worstOf(vs []LatencyVerdict, p SideLatency) LatencyVerdict {
	rank := map[string]int{LatencyRegression: 4, LatencyInconclusive: 3, LatencyOK: 2, LatencyNotComparable: 1}
	var out LatencyVerdict
	samples := 0
	for _, v := range vs {
		samples += v.Samples
		if rank[v.Status] > rank[out.Status] || rank[v.Status] == rank[out.Status] && v.ShiftMs > out.ShiftMs {
			out = v
		}
	}
	out.Samples = samples
	out.P50Ratio = ratio(p.Candidate.P50, p.Legacy.P50)
	out.P99Ratio = ratio(p.Candidate.P99, p.Legacy.P99)
	out.P50Change = pointChange(p.Legacy.P50, p.Candidate.P50, out.P50Change)
	out.P99Change = pointChange(p.Legacy.P99, p.Candidate.P99, out.P99Change)
	if len(vs) > 1 && out.Reason != "" {
		out.Reason = fmt.Sprintf("worst of %d sources: %s", len(vs), out.Reason)
	}
	return out
}

// pointChange is the merged change at a percentile; the interval of the
// worst source is kept, widened to hold the merged estimate.
func pointChange(l, c float64, from *Change) *Change {
	if from == nil {
		return nil
	}
	ch := *from
	ch.Ms = round3(c - l)
	ch.LowMs, ch.HighMs = min(ch.LowMs, ch.Ms), max(ch.HighMs, ch.Ms)
	return &ch
}

func mergeRun(dst, r *RunInfo) {
	if r == nil {
		return
	}
	if r.Start != nil && (dst.Start == nil || r.Start.Before(*dst.Start)) {
		dst.Start = r.Start
	}
	if r.End != nil && (dst.End == nil || r.End.After(*dst.End)) {
		dst.End = r.End
	}
	if dst.Start != nil && dst.End != nil {
		dst.DurationS = round3(dst.End.Sub(*dst.Start).Seconds())
	}
	if dst.Version == "" {
		dst.Version, dst.Rules = r.Version, r.Rules
	}
	dst.Noise.Secondary += r.Noise.Secondary
	dst.Noise.Observations += r.Noise.Observations
	if r.Weight != nil {
		if dst.Weight == nil {
			w := *r.Weight
			dst.Weight = &w
		} else {
			dst.Weight.Min, dst.Weight.Max = min(dst.Weight.Min, r.Weight.Min), max(dst.Weight.Max, r.Weight.Max)
			dst.Weight.Last = r.Weight.Last
		}
	}
}

// mergeSeries merges series at the longest interval among them, aligned on
// wall-clock multiples of it.
func mergeSeries(in []*Series) (*Series, error) {
	if len(in) == 0 {
		return nil, nil
	}
	var interval float64
	for _, s := range in {
		interval = max(interval, s.IntervalS)
	}
	if interval <= 0 {
		return nil, errors.New("series interval is not positive")
	}
	step := time.Duration(interval * float64(time.Second))
	type acc struct {
		p    SeriesPoint
		l, c *latencyHist
	}
	byStart := map[int64]*acc{}
	for _, s := range in {
		for _, p := range s.Points {
			start := p.Start.Truncate(step).UTC()
			a, ok := byStart[start.UnixNano()]
			if !ok {
				a = &acc{p: SeriesPoint{Start: start}, l: newSeriesHist(), c: newSeriesHist()}
				byStart[start.UnixNano()] = a
			}
			a.p.Exchanges += p.Exchanges
			a.p.Compared += p.Compared
			a.p.Different += p.Different
			a.p.Failed += p.Failed
			a.p.Status5xx = addSides(a.p.Status5xx, p.Status5xx)
			if p.Weight != nil {
				w := *p.Weight
				a.p.Weight = &w
			}
			for _, side := range []struct {
				dst *latencyHist
				p   IntervalLatency
			}{{a.l, p.LatencyMs.Legacy}, {a.c, p.LatencyMs.Candidate}} {
				h, err := decodeSeriesHist(side.p)
				if err != nil {
					return nil, err
				}
				side.dst.merge(h)
			}
		}
	}
	out := &Series{IntervalS: interval}
	for _, k := range slices.Sorted(maps.Keys(byStart)) {
		a := byStart[k]
		a.p.LatencyMs = SeriesLatency{a.l.interval(), a.c.interval()}
		a.p.LatencyMs.Legacy.Hist, a.p.LatencyMs.Candidate.Hist = a.l.encode(), a.c.encode()
		out.Points = append(out.Points, a.p)
	}
	return out, nil
}

// verdictConfigOf is the verdict configuration that recorded limits stand for.
func verdictConfigOf(l *Limits) VerdictConfig {
	if l == nil {
		return VerdictConfig{}
	}
	return VerdictConfig{MaxDifferenceRate: l.MaxDifferenceRate, MaxCandidateFailures: l.MaxCandidateFailures, IgnoreLatency: l.IgnoreLatency}
}
