package reports

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/cutover/cutover/diff"
)

// The bounds of "differences by exchange".
const (
	htmlGroups         = 50 // rows, largest first
	htmlGroupExamples  = 3  // exchanges per row, the first open
	htmlGroupsExamples = 60 // exchanges in the whole section
)

// groupViews lists the groups of every endpoint, largest first.
func groupViews(eps []rankedEndpoint) ([]groupView, int) {
	type item struct {
		e *rankedEndpoint
		g *diff.GroupSummary
	}
	var all []item
	for i := range eps {
		for j := range eps[i].Groups {
			all = append(all, item{&eps[i], &eps[i].Groups[j]})
		}
	}
	slices.SortStableFunc(all, func(a, b item) int { return cmp.Compare(b.g.Count, a.g.Count) })
	more := 0
	if len(all) > htmlGroups {
		more = len(all) - htmlGroups
		all = all[:htmlGroups]
	}
	budget := htmlGroupsExamples
	out := make([]groupView, 0, len(all))
	for _, it := range all {
		g := groupView{Endpoint: it.e.Endpoint, Count: it.g.Count, Share: pctExact(share(it.g.Count, it.e.Compared))}
		for _, f := range it.g.Fields {
			g.Fields = append(g.Fields, fieldLabel{Path: f.Path, Kind: kindWords(f.Kind)})
		}
		for i, smp := range it.g.Samples {
			if i == htmlGroupExamples || budget == 0 {
				break
			}
			budget--
			v := newExchangeView(smp)
			if i == 0 {
				g.First = &v
				g.Headline = headline(smp, it.g.Fields)
				continue
			}
			g.More = append(g.More, v)
		}
		if g.Headline == "" {
			g.Headline = fmt.Sprintf("%d fields differ", len(it.g.Fields))
		}
		out = append(out, g)
	}
	return out, more
}

// headline sums a group up from its first example: the status change
// when there is one, else the fields.
func headline(x diff.ExchangeSample, fields []diff.FieldRef) string {
	n := len(fields)
	suffix := ""
	if n > 1 {
		suffix = fmt.Sprintf(", with %d fields differing", n)
	}
	for _, f := range fields {
		if f.Path == "status" && x.Legacy != nil && x.Candidate != nil {
			return fmt.Sprintf("legacy %d, candidate %d%s", x.Legacy.Status, x.Candidate.Status, suffix)
		}
	}
	if n == 1 {
		return fieldWords(fields[0])
	}
	return fmt.Sprintf("%s and %d more", fieldWords(fields[0]), n-1)
}

// provenance lists where the figures come from.
func provenance(s *diff.Summary, opt HTMLOptions) []provenanceRow {
	var rows []provenanceRow
	add := func(name, value string, list ...string) {
		rows = append(rows, provenanceRow{Name: name, Value: value, List: list})
	}
	add("source", s.Source)
	r := s.Run
	if r == nil {
		add("run", "not recorded (a summary from an older version)")
		return rows
	}
	if r.Start != nil {
		add("first exchange", r.Start.UTC().Format(time.DateTime+" UTC"))
		add("last exchange", r.End.UTC().Format(time.DateTime+" UTC"))
		add("duration", (time.Duration(r.DurationS * float64(time.Second))).Round(time.Second).String())
	}
	if r.Sources > 1 {
		add("merged from", fmt.Sprintf("%d summaries", r.Sources))
	}
	if w := r.Weight; w != nil {
		if w.Min == w.Max {
			add("candidate's share of live traffic", pctExact(w.Last/100))
		} else {
			add("candidate's share of live traffic", fmt.Sprintf("%s to %s, %s at the end", pctExact(w.Min/100), pctExact(w.Max/100), pctExact(w.Last/100)))
		}
	}
	switch n := r.Noise; {
	case n.Secondary > 0:
		add("noise", fmt.Sprintf("from a second legacy instance, on %d exchanges (%d observations in all)", n.Secondary, n.Observations))
	case n.Observations > 0:
		add("noise", fmt.Sprintf("from %d requests sent to legacy twice", n.Observations))
	default:
		add("noise", "not measured: no second legacy answer, so nothing is discounted as noise")
	}
	rules := r.Rules
	var ignored []string
	for _, g := range rules.Ignore {
		ignored = append(ignored, g)
	}
	for _, h := range rules.HeadersExcluded {
		ignored = append(ignored, "header "+h)
	}
	add("ignored by the rules", orNone(len(ignored)), ignored...)
	add("loosened by the rules", orNone(len(rules.Tolerance)+len(rules.TimeSkew)+len(rules.Unordered)),
		slices.Concat(rules.Tolerance, rules.TimeSkew, prefixed("unordered ", rules.Unordered))...)
	add("never compared", "", rules.DefaultsIgnored...)
	if l := s.Limits; l != nil {
		failures := fmt.Sprintf("%d", l.MaxCandidateFailures)
		if l.MaxCandidateFailures < 0 {
			failures = "no limit"
		}
		add("limits", "", "differences: at most "+pctExact(l.MaxDifferenceRate)+" of compared exchanges",
			"candidate failures: "+failures,
			fmt.Sprintf("latency: a median shift surely over max(%s of legacy's median, %s ms) at %.0f%% confidence, from %d exchanges per side",
				pctExact(l.LatencyRelative), ms3(l.LatencyAbsoluteMs), 100*(1-l.LatencyAlpha), l.LatencyMinSamples))
	}
	add("version", r.Version)
	if !opt.Generated.IsZero() {
		add("report made", opt.Generated.UTC().Format(time.DateTime+" UTC"))
	}
	return rows
}

func orNone(n int) string {
	if n == 0 {
		return "nothing"
	}
	return ""
}

func prefixed(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}
