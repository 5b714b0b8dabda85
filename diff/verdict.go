package diff

import (
	"cmp"
	"fmt"
	"slices"
)

// The verdicts of a summary.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
)

// VerdictConfig sets the limits a run must stay within to pass. The zero
// value is the strictest useful one: no difference, no candidate failure,
// no latency regression.
type VerdictConfig struct {
	// MaxDifferenceRate is the largest share of compared exchanges that
	// may differ [0]; 1 or more means no limit.
	MaxDifferenceRate float64
	// MaxCandidateFailures is how many exchanges the candidate alone may
	// fail to answer [0]; negative means no limit.
	MaxCandidateFailures int64
	// IgnoreLatency keeps latency regressions as reasons but not failures.
	IgnoreLatency bool
	// FailInconclusive makes too little latency data a failure. By
	// default it is only mentioned: short runs and quiet endpoints are
	// common, and failing them would teach people to ignore the verdict.
	FailInconclusive bool
	// AllowEmpty passes a run that compared nothing [false: a run that
	// proved nothing fails].
	AllowEmpty bool
	// MaxListed caps the endpoints named per kind of reason [5].
	MaxListed int
}

// Judge returns the verdict of s and its reasons: short sentences, the
// failures first, then what is worth knowing but did not fail the run. It
// reads only s, so a parsed summary can be judged again with other limits.
func (c VerdictConfig) Judge(s *Summary) (string, []string) {
	if c.MaxListed <= 0 {
		c.MaxListed = 5
	}
	j := judgement{}
	n := s.Counts
	if n.Compared == 0 && !c.AllowEmpty {
		j.fail("no exchange was compared: %d requests, %d skipped, %d failed",
			n.Requests, n.Requests-n.Failed.Legacy-n.Failed.Candidate-n.Failed.Both, n.Failed.Legacy+n.Failed.Candidate+n.Failed.Both)
	}
	c.differences(s, &j)
	c.failures(s, &j)
	c.latency(s, &j)
	if !j.failed && len(j.notes) == 0 {
		j.note("all %d compared exchanges answer alike, with no latency regression", n.Compared)
	}
	if j.failed {
		return VerdictFail, append(j.failures, j.notes...)
	}
	return VerdictPass, j.notes
}

type judgement struct {
	failed          bool
	failures, notes []string
}

func (j *judgement) fail(format string, args ...any) {
	j.failed = true
	j.failures = append(j.failures, fmt.Sprintf(format, args...))
}

func (j *judgement) note(format string, args ...any) {
	j.notes = append(j.notes, fmt.Sprintf(format, args...))
}

func (c VerdictConfig) differences(s *Summary, j *judgement) {
	n := s.Counts
	rate := share(n.Different, n.Compared)
	if n.Different == 0 || rate <= c.MaxDifferenceRate {
		if n.Different > 0 {
			j.note("%d of %d compared exchanges differ (%s), within the limit of %s", n.Different, n.Compared, pct(rate), pct(c.MaxDifferenceRate))
		}
		return
	}
	j.fail("%d of %d compared exchanges differ (%s), over the limit of %s", n.Different, n.Compared, pct(rate), pct(c.MaxDifferenceRate))
	eps := worst(s.Endpoints, func(e *EndpointSummary) int64 { return e.Different })
	for i, e := range eps {
		if i == c.MaxListed {
			j.fail("and %d more endpoints with differences", len(eps)-i)
			break
		}
		top := "no field stands out of the noise"
		if f := e.ReportedFields(); len(f) > 0 {
			top = fmt.Sprintf("most at %s (%s, %d)", f[0].Path, f[0].Kind, f[0].Count)
		}
		j.fail("%s: %d of %d differ; %s", e.Endpoint, e.Different, e.Compared, top)
	}
}

func (c VerdictConfig) failures(s *Summary, j *judgement) {
	f := s.Counts.Failed
	if f.Candidate > 0 {
		msg := fmt.Sprintf("candidate gave no answer to %s that legacy answered", plural(f.Candidate, "request"))
		eps := worst(s.Endpoints, func(e *EndpointSummary) int64 { return e.Failed.Candidate })
		if len(eps) > 0 {
			msg += fmt.Sprintf(", most on %s (%d)", eps[0].Endpoint, eps[0].Failed.Candidate)
		}
		if c.MaxCandidateFailures >= 0 && f.Candidate > c.MaxCandidateFailures {
			j.fail("%s, over the limit of %d", msg, c.MaxCandidateFailures)
		} else {
			j.note("%s, within the limit", msg)
		}
	}
	if f.Legacy > 0 || f.Both > 0 {
		j.note("legacy gave no answer to %s (candidate did not either to %d of them); not the candidate's failure",
			plural(f.Legacy+f.Both, "request"), f.Both)
	}
}

func (c VerdictConfig) latency(s *Summary, j *judgement) {
	regression := j.fail
	if c.IgnoreLatency {
		regression = func(format string, args ...any) {
			j.note(format+" (latency ignored by configuration)", args...)
		}
	}
	listed := 0
	inconclusive := 0
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		switch e.LatencyVerdict.Status {
		case LatencyRegression:
			if listed < c.MaxListed {
				regression("%s: latency %s; p50 ×%.2f, p99 ×%.2f", e.Endpoint, e.LatencyVerdict.Reason,
					e.LatencyVerdict.P50Ratio, e.LatencyVerdict.P99Ratio)
			} else if listed == c.MaxListed {
				regression("and more endpoints with a latency regression")
			}
			listed++
		case LatencyInconclusive:
			if e.Compared > 0 {
				inconclusive++
			}
		}
	}
	o := s.LatencyVerdict
	switch o.Status {
	case LatencyRegression:
		regression("overall latency %s; p50 ×%.2f, p99 ×%.2f", o.Reason, o.P50Ratio, o.P99Ratio)
	case LatencyNotComparable:
		j.note("latency not comparable: %s", o.Reason)
	case LatencyInconclusive:
		if c.FailInconclusive {
			j.fail("overall latency inconclusive: %s (a failure by configuration)", o.Reason)
		} else {
			j.note("overall latency inconclusive: %s (not a failure by default)", o.Reason)
		}
	}
	if inconclusive > 0 {
		msg := fmt.Sprintf("latency inconclusive on %d of %d endpoints with compared exchanges: fewer than the %d needed per side",
			inconclusive, countCompared(s.Endpoints), o.MinSamples)
		if c.FailInconclusive {
			j.fail("%s (a failure by configuration)", msg)
		} else {
			j.note("%s (not a failure by default)", msg)
		}
	}
}

// worst returns the endpoints with a positive figure, largest first.
func worst(eps []EndpointSummary, figure func(*EndpointSummary) int64) []*EndpointSummary {
	var out []*EndpointSummary
	for i := range eps {
		if figure(&eps[i]) > 0 {
			out = append(out, &eps[i])
		}
	}
	slices.SortStableFunc(out, func(a, b *EndpointSummary) int { return cmp.Compare(figure(b), figure(a)) })
	return out
}

func countCompared(eps []EndpointSummary) int {
	n := 0
	for _, e := range eps {
		if e.Compared > 0 {
			n++
		}
	}
	return n
}

// pct renders a share as a percentage with three significant digits.
func pct(x float64) string { return fmt.Sprintf("%.3g%%", 100*x) }

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
