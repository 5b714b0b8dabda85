package reports

import (
	"fmt"
	"strings"

	"github.com/cutover/cutover/diff"
)

// The decision comes first in every format a person reads: one sentence,
// then the scorecard of what decides it, each figure beside its limit. It
// only words the summary's own figures; diff computed them.

// The states of a scorecard row.
const (
	scoreOK   = "ok"
	scoreOver = "over"  // over its limit: holds the candidate back
	scoreWarn = "watch" // worse, but not a verdict limit
	scoreInfo = "info"  // too little data, or no limit
)

// scoreRow is one line of the scorecard. Key names it for tests and
// scripts (data-k in HTML).
type scoreRow struct {
	Key, Name, Value, Interval, Limit, State string
}

// RolloutState is what a rollout's state file says now, for the scorecard.
type RolloutState struct {
	// State is the journal's word ("running", "rolled back", "promoted", ...).
	State string
	// Step is the current step, e.g. "4 of 5 (100%)"; Reason why it ended.
	Step, Reason string
	Failed       bool
}

// decision is the sentence and the scorecard of a summary.
type decision struct {
	Pass     bool
	Sentence string
	Rows     []scoreRow
}

func newDecision(s *diff.Summary, r *RolloutState) decision {
	d := decision{Pass: s.Verdict == diff.VerdictPass}
	c := s.Counts
	lim := s.Limits
	if lim == nil {
		lim = &diff.Limits{}
	}
	var why []string

	if r != nil {
		row := scoreRow{Key: "rollout", Name: "rollout", Value: r.State, Interval: r.Step, Limit: r.Reason, State: scoreOK}
		if r.Failed {
			row.State = scoreOver
			why = append(why, "the rollout "+r.State+rolloutAt(r))
		}
		d.Rows = append(d.Rows, row)
	}

	rate := share(c.Different, c.Compared)
	row := scoreRow{Key: "difference-rate", Name: "exchanges that differ", Value: pctExact(rate),
		Interval: fmt.Sprintf("%d of %d compared", c.Different, c.Compared), Limit: "≤ " + pctExact(lim.MaxDifferenceRate), State: scoreOK}
	if c.Different > 0 && rate > lim.MaxDifferenceRate {
		row.State = scoreOver
		why = append(why, fmt.Sprintf("%s of compared exchanges differ (limit %s)", pctExact(rate), pctExact(lim.MaxDifferenceRate)))
	}
	d.Rows = append(d.Rows, row)

	l5, c5 := share(s.Status5xx.Legacy, c.Compared), share(s.Status5xx.Candidate, c.Compared)
	d.Rows = append(d.Rows, scoreRow{Key: "legacy-5xx", Name: "server errors (5xx), legacy", Value: pctExact(l5),
		Interval: fmt.Sprintf("%d of %d compared", s.Status5xx.Legacy, c.Compared), Limit: "the reference", State: scoreInfo})
	row = scoreRow{Key: "candidate-5xx", Name: "server errors (5xx), candidate", Value: pctExact(c5),
		Interval: fmt.Sprintf("%d of %d compared", s.Status5xx.Candidate, c.Compared), Limit: "≤ legacy's " + pctExact(l5), State: scoreOK}
	if s.Status5xx.Candidate > s.Status5xx.Legacy {
		row.State = scoreOver
		// Server errors lead: they are what users notice first.
		why = append([]string{fmt.Sprintf("the candidate answers %s of requests with a server error (5xx) against legacy's %s", pctExact(c5), pctExact(l5))}, why...)
	}
	d.Rows = append(d.Rows, row)

	v := s.LatencyVerdict
	d.Rows = append(d.Rows, latencyRows(v, s.LatencyMs, lim)...)
	if v.Status == diff.LatencyRegression && !lim.IgnoreLatency {
		why = append(why, fmt.Sprintf("it is slower by %s ms at the median (tolerance %s ms)", signedMs(v.ShiftMs), ms3(v.ToleranceMs)))
	}

	row = scoreRow{Key: "candidate-failed", Name: "no answer from the candidate", Value: fmt.Sprint(c.Failed.Candidate),
		Interval: fmt.Sprintf("legacy alone %d, both %d", c.Failed.Legacy, c.Failed.Both), State: scoreOK}
	if lim.MaxCandidateFailures < 0 {
		row.Limit = "no limit"
	} else {
		row.Limit = fmt.Sprintf("≤ %d", lim.MaxCandidateFailures)
		if c.Failed.Candidate > lim.MaxCandidateFailures {
			row.State = scoreOver
			why = append(why, fmt.Sprintf("it gave no answer to %d requests that legacy answered", c.Failed.Candidate))
		}
	}
	d.Rows = append(d.Rows, row)

	switch {
	case d.Pass && len(why) == 0:
		d.Sentence = fmt.Sprintf("The candidate may take traffic: %d compared exchanges answer alike within the limits, and its latency is within tolerance.", c.Compared)
		switch v.Status {
		case diff.LatencyInconclusive:
			d.Sentence = fmt.Sprintf("The candidate may take traffic on what was seen: %d compared exchanges answer alike within the limits; too few to judge latency.", c.Compared)
		case diff.LatencyNotComparable:
			d.Sentence = fmt.Sprintf("The candidate may take traffic on what was seen: %d compared exchanges answer alike within the limits; latency is not comparable here, not judged.", c.Compared)
		}
	case d.Pass:
		d.Sentence = "The run passes its limits, but " + joinWhy(why) + "."
	case len(why) == 0:
		d.Sentence = "Do not move traffic yet: " + firstReason(s) + "."
	default:
		d.Sentence = "Do not move traffic: " + joinWhy(why) + "."
	}
	return d
}

func latencyRows(v diff.LatencyVerdict, l diff.SideLatency, lim *diff.Limits) []scoreRow {
	tol := "± " + ms3(v.ToleranceMs) + " ms"
	p50 := scoreRow{Key: "p50-change", Name: "median (p50) change", Limit: "≤ +" + ms3(v.ToleranceMs) + " ms",
		Value: fmt.Sprintf("%s → %s ms", ms3(l.Legacy.P50), ms3(l.Candidate.P50)), State: scoreOK}
	if c := v.P50Change; c != nil {
		p50.Value += fmt.Sprintf(" (%s ms)", signedMs(c.Ms))
		p50.Interval = fmt.Sprintf("%.0f%% interval %s to %s ms", 100*c.Confidence, signedMs(c.LowMs), signedMs(c.HighMs))
	}
	if c := v.P50Change; c != nil && v.Status == diff.LatencyOK && c.Ms > v.ToleranceMs {
		// Over the tolerance, but not surely: worth watching, not failing.
		p50.State = scoreWarn
	}
	switch v.Status {
	case diff.LatencyRegression:
		p50.State = scoreOver
		if lim.IgnoreLatency {
			p50.State, p50.Limit = scoreWarn, p50.Limit+" (latency ignored)"
		}
	case diff.LatencyInconclusive:
		p50.State, p50.Interval = scoreInfo, v.Reason
	case diff.LatencyNotComparable:
		p50.State, p50.Interval, p50.Limit = scoreInfo, v.Reason, "not judged: the sides are not measured alike"
	}
	p99 := scoreRow{Key: "p99-change", Name: "tail (p99) change", Limit: "shown, not judged (tolerance " + tol + " at the median)",
		Value: fmt.Sprintf("%s → %s ms", ms3(l.Legacy.P99), ms3(l.Candidate.P99)), State: scoreInfo}
	if c := v.P99Change; c != nil {
		p99.Value += fmt.Sprintf(" (%s ms)", signedMs(c.Ms))
		p99.Interval = fmt.Sprintf("%.0f%% interval %s to %s ms", 100*c.Confidence, signedMs(c.LowMs), signedMs(c.HighMs))
		if c.LowMs > max(v.ToleranceMs, 0.05*l.Legacy.P99) {
			p99.State = scoreWarn
		}
	}
	return []scoreRow{p50, p99}
}

func rolloutAt(r *RolloutState) string {
	if r.Step == "" {
		return ""
	}
	return " at step " + r.Step
}

func joinWhy(why []string) string {
	switch len(why) {
	case 1:
		return why[0]
	case 2:
		return why[0] + ", and " + why[1]
	}
	return strings.Join(why[:len(why)-1], ", ") + ", and " + why[len(why)-1]
}

func firstReason(s *diff.Summary) string {
	if len(s.Reasons) > 0 {
		return strings.TrimSuffix(s.Reasons[0], ".")
	}
	return "the verdict is fail"
}

func share(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// pctExact renders a share with up to three significant digits and never
// rounds a non-zero share to zero: 0.05 → "5%", 0.0004 → "0.04%".
func pctExact(x float64) string {
	p := 100 * x
	switch {
	case p == 0:
		return "0%"
	case p < 0.001:
		return "<0.001%"
	}
	return fmt.Sprintf("%.3g%%", p)
}

// ms3 renders milliseconds with three significant digits.
func ms3(v float64) string { return fmt.Sprintf("%.3g", v) }

// signedMs renders a change with its sign, "+2.4" or "−0.05".
func signedMs(v float64) string {
	switch {
	case v > 0:
		return "+" + ms3(v)
	case v < 0:
		return "−" + ms3(-v)
	}
	return "0"
}
