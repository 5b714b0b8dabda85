package reports

import (
	"fmt"
	"html/template"
	"time"

	"github.com/cutover/cutover/diff"
)

// htmlView is everything the HTML template reads, prepared so that the
// template only lays it out.
type htmlView struct {
	Title     string
	Generated string
	Source    string
	Pass      bool
	Verdict   string
	Reasons   []string

	Counts        diff.Counts
	SkippedTotal  int64
	Skipped       []countRow
	FailedTotal   int64
	AccountingErr string // set when the counts do not add up

	Latency        []latencyRow
	LatencyVerdict diff.LatencyVerdict
	CurveChart     template.HTML
	BarChart       template.HTML

	Endpoints     []endpointView
	MoreEndpoints int

	Timeline      []timelineRow
	TimelineChart template.HTML

	Decision     decision
	Refresh      int // seconds; 0: a file that does not refresh
	SeriesChart  template.HTML
	ChangeChart  template.HTML
	Groups       []groupView
	MoreGroups   int
	Provenance   []provenanceRow
	ScriptSafeTS string
}

// groupView is one row of "differences by exchange": exchanges of one
// endpoint that differ in the same set of fields.
type groupView struct {
	Endpoint string
	Fields   []fieldLabel
	Count    int64
	Share    string
	Headline string
	First    *exchangeView
	More     []exchangeView
}

type fieldLabel struct{ Path, Kind string }

type provenanceRow struct {
	Name  string
	Value string
	List  []string
}

type countRow struct {
	Name string
	N    int64
}

type latencyRow struct {
	Name              string
	Legacy, Candidate float64
}

type endpointView struct {
	Rank                         int
	Name                         string
	Requests, Compared, Differ   int64
	Rate                         string
	Failed                       int64
	Failing, Regression          bool
	LatencyStatus, LatencyReason string
	Legacy, Candidate            diff.Percentiles
	Fields                       []fieldView
	MoreFields                   int
	Failures                     []failureView
}

type fieldView struct {
	Path, Kind, Why string
	Count, Noise    int64
	NoiseOf         int64
	Rate            string
	Reported        bool
	NoiseText       string
	Examples        []exampleView
	MoreExamples    int
}

type failureView struct {
	Request, Side, Legacy, Candidate string
}

type timelineRow struct {
	Time          string
	Weight        float64
	Event, Reason string
	Marked        string // "rollback", "promote" or ""
	Gates         []Gate
}

func newHTMLView(s *diff.Summary, opt HTMLOptions) (*htmlView, error) {
	v := &htmlView{
		Title:   opt.Title,
		Source:  s.Source,
		Pass:    s.Verdict == diff.VerdictPass,
		Verdict: s.Verdict,
		Reasons: s.Reasons,
		Counts:  s.Counts,
	}
	if v.Title == "" {
		v.Title = "cutover report"
	}
	if !opt.Generated.IsZero() {
		v.Generated = opt.Generated.UTC().Format(time.RFC1123)
	}
	for _, k := range sortedKeys(s.Counts.Skipped) {
		n := s.Counts.Skipped[k]
		v.Skipped = append(v.Skipped, countRow{k, n})
		v.SkippedTotal += n
	}
	v.FailedTotal = failures(s.Counts.Failed)
	if err := s.Counts.Check(); err != nil {
		v.AccountingErr = err.Error()
	}
	l := s.LatencyMs
	v.Latency = []latencyRow{
		{"p50", l.Legacy.P50, l.Candidate.P50}, {"p90", l.Legacy.P90, l.Candidate.P90},
		{"p99", l.Legacy.P99, l.Candidate.P99}, {"max", l.Legacy.Max, l.Candidate.Max},
		{"mean", l.Legacy.Mean, l.Candidate.Mean},
	}
	v.LatencyVerdict = s.LatencyVerdict

	ranked := rank(s)
	var err error
	if v.CurveChart, err = latencyCurveChart(s.LatencyMs); err != nil {
		return nil, err
	}
	v.BarChart = barsChart(ranked)
	v.ChangeChart = changeChart(ranked)
	v.Decision = newDecision(s, opt.Rollout)
	v.SeriesChart = seriesChart(s.Series, opt.Timeline)
	v.Refresh = int(opt.Refresh.Seconds())
	if opt.Refresh > 0 && v.Refresh == 0 {
		v.Refresh = 1
	}
	v.Groups, v.MoreGroups = groupViews(ranked)
	v.Provenance = provenance(s, opt)
	budget := htmlExamples
	for i, e := range ranked {
		if i == htmlEndpoints {
			v.MoreEndpoints = len(ranked) - i
			break
		}
		v.Endpoints = append(v.Endpoints, newEndpointView(i+1, e, &budget))
	}
	if opt.Timeline != nil {
		if v.TimelineChart, err = timelineChart(opt.Timeline); err != nil {
			return nil, err
		}
		for _, p := range opt.Timeline.Points {
			row := timelineRow{Time: p.Time.UTC().Format(time.DateTime), Weight: p.Weight,
				Event: p.Event, Reason: p.Reason, Gates: p.Gates}
			if p.Event == EventRollback || p.Event == EventPromote {
				row.Marked = p.Event
			}
			v.Timeline = append(v.Timeline, row)
		}
	}
	return v, nil
}

// newEndpointView shows reported fields first, then the others (noise),
// spending the report's example budget on reported fields only.
func newEndpointView(n int, e rankedEndpoint, budget *int) endpointView {
	ev := endpointView{
		Rank: n, Name: e.Endpoint, Requests: e.Requests, Compared: e.Compared, Differ: e.Different,
		Rate: pct(e.differentRate()), Failed: failures(e.Failed), Failing: e.failing(), Regression: e.regression,
		LatencyStatus: e.LatencyVerdict.Status, LatencyReason: e.LatencyVerdict.Reason,
		Legacy: e.LatencyMs.Legacy, Candidate: e.LatencyMs.Candidate,
	}
	fields := e.reported
	for _, f := range e.Fields {
		if !f.Reported {
			fields = append(fields, f)
		}
	}
	for i, f := range fields {
		if i == htmlFields {
			ev.MoreFields = len(fields) - i
			break
		}
		fv := fieldView{Path: f.Path, Kind: kindWords(f.Kind), Why: whyWords(f.Why), Count: f.Count, Noise: f.Noise,
			NoiseOf: f.NoiseOf, Rate: pct(f.Rate), Reported: f.Reported, NoiseText: noiseWords(f)}
		if f.Reported {
			for _, smp := range f.Samples {
				if len(fv.Examples) == htmlExamplesPerField || *budget == 0 {
					break
				}
				fv.Examples = append(fv.Examples, newExampleView(f.Path, smp))
				*budget--
			}
			fv.MoreExamples = len(f.Samples) - len(fv.Examples)
		}
		ev.Fields = append(ev.Fields, fv)
	}
	for i, fs := range e.Failures {
		if i == htmlFailures {
			break
		}
		fv := failureView{Side: fs.Side, Legacy: fs.LegacyError, Candidate: fs.CandidateError}
		if fs.Request != nil {
			fv.Request = fmt.Sprintf("%s %s", fs.Request.Method, fs.Request.URI)
		}
		ev.Failures = append(ev.Failures, fv)
	}
	return ev
}
