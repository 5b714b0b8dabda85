package rollout

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cutover/cutover/diff"
)

// Measure is a step's evidence, summed over the fleet of mirrors: the
// traffic each side served and the shadow comparisons, since the step's
// window opened.
type Measure struct {
	Legacy, Candidate Served
	// Counts of the shadow comparisons (noise excluded from Different).
	Counts diff.Counts
	// Endpoints are the per-endpoint comparison counts.
	Endpoints map[string]EndpointCounts
	// Latency is each mirror's overall latency verdict: verdicts cannot
	// be summed, so each mirror is judged at its share of the level.
	Latency []diff.LatencyVerdict
	// Pairs are the latency pairs compared since the previous Measure of
	// the same window (a sample when there were many): the controller
	// keeps them per interval for the recent window and the tail gate. A
	// source without them leaves it empty; those gates then wait.
	Pairs LatencyPairs
	// Answered is how many of the watched mirrors (or sources) answered;
	// Missing names those that did not.
	Answered int
	Missing  []string
	// LegacyBaseline marks Legacy as the step before's: at 100% with no
	// shadow copies (a front door) legacy serves nothing to compare with.
	LegacyBaseline bool
}

// Served counts the requests one side served and how many were errors
// (5xx or no answer).
type Served struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
}

// EndpointCounts are one endpoint's comparison counts.
type EndpointCounts struct {
	Compared, Different int64
}

// Gate verdicts. Insufficient holds a step: too little data never passes.
// NotApplicable neither fails nor holds a step: the source cannot measure
// what the gate judges, now or with more data (a tap without a secondary
// sees legacy's latency on the wire and the candidate's as sent, not
// alike), so waiting would never end. Status, journal and reports show it
// as such, never as a pass.
const (
	GatePass          = "pass"
	GateFail          = "fail"
	GateInsufficient  = "insufficient"
	GateNotApplicable = "not_applicable"
)

// decides says whether a verdict lets a step pass: a pass, or a gate that
// does not apply to this source.
func decides(verdict string) bool { return verdict == GatePass || verdict == GateNotApplicable }

// Gate names, as status, history, webhooks and /metrics show them.
const (
	GateErrorRate      = "error_rate"      // the candidate's error rate against the legacy's
	GateErrorCeiling   = "error_ceiling"   // the candidate's error rate against error_rate.max
	GateLatency        = "latency"         // the median shift
	GateLatencyTail    = "latency_tail"    // the shift of a high quantile (p99)
	GateLatencyCeiling = "latency_ceiling" // the candidate's p99 against latency.max_p99
	GateDifferences    = "differences"     // the share of compared exchanges that differ
	GateMirrors        = "mirrors"         // whether the fleet could be measured at all
)

// The windows a gate is judged on.
const (
	WindowStep   = "step"   // everything since the step began
	WindowRecent = "recent" // the latest recent_intervals intervals
)

// GateResult is one gate's verdict on a step with the figures behind it.
// A dry-run gate's verdict is shown and journaled but decides nothing.
type GateResult struct {
	Gate    string             `json:"gate"`
	Verdict string             `json:"verdict"`
	Reason  string             `json:"reason"`
	Window  string             `json:"window,omitempty"`
	DryRun  bool               `json:"dry_run,omitempty"`
	Figures map[string]float64 `json:"figures,omitempty"`
}

// evidence is what one look judges: the step's whole window and, beside
// it, the recent one, so that a regression that starts late in a long
// step is not diluted by the healthy traffic before it.
type evidence struct {
	Step      Measure
	StepPairs LatencyPairs // a uniform sample of the step's latency pairs
	// Recent are the windows of the latest intervals, shortest first;
	// empty until the step has two looks to subtract.
	Recent []recentWindow
	Look   int // evaluations of this step so far, from 1
}

// enabledGates lists the gates g turns on, and how many of them decide
// (are not dry runs).
func enabledGates(g Gates) (names []string, deciding int) {
	add := func(name string, on, dry bool) {
		if on {
			names = append(names, name)
			if !dry {
				deciding++
			}
		}
	}
	add(GateErrorRate, !g.ErrorRate.Disabled, g.ErrorRate.DryRun)
	add(GateErrorCeiling, !g.ErrorRate.Disabled && g.ErrorRate.Max > 0, g.ErrorRate.DryRun)
	add(GateLatency, !g.Latency.Disabled, g.Latency.DryRun)
	add(GateLatencyTail, !g.Latency.Disabled && !g.Latency.Tail.Disabled, g.Latency.DryRun || g.Latency.Tail.DryRun)
	add(GateLatencyCeiling, !g.Latency.Disabled && g.Latency.MaxP99 > 0, g.Latency.DryRun)
	add(GateDifferences, !g.Differences.Disabled, g.Differences.DryRun)
	return names, deciding
}

// judge evaluates every enabled gate of the step. The plan's false-alarm
// level is split evenly between the steps and the deciding gates (a union
// bound), and each gate's share again in halves: one for the step's whole
// window, with tests valid however often they are looked at, and one for
// the recent windows. A count test (errors, differences) is such a
// sequential test too, so a recent window gets its level once, by the
// look it starts after (α·6/(π²(s+1)²) from look s, which sums to the
// half), and keeps it at every look that judges it; the latency tests on
// pairs are fixed-sample tests, so their half is spent over the looks
// (α·6/(π²k²) at look k) and split between the window lengths. So a
// candidate no worse than legacy is rolled back with at most that
// probability over the whole rollout, however long each step is watched.
// The recent windows can only fail a gate: passing takes the whole step's
// evidence.
func judge(p *Plan, step Step, ev evidence) []GateResult {
	g := step.Gates
	names, deciding := enabledGates(g)
	alpha := p.FalseAlarm / float64(len(p.Steps)*max(deciding, 1)) / 2
	// The pair tests' recent half, spent over the looks, is split between
	// the window lengths they run on.
	pairWindows := 0
	for _, w := range ev.Recent {
		if w.judgesPairs {
			pairWindows++
		}
	}
	pairAlpha := spentAlpha(alpha, ev.Look) / float64(max(pairWindows, 1))
	countAlpha := func(w recentWindow) float64 { return spentAlpha(alpha, w.From+1) }
	var out []GateResult
	for _, name := range names {
		var whole GateResult
		var recent func(w recentWindow) GateResult // nil: no recent test
		pairsOnly, dry := false, false
		switch name {
		case GateErrorRate:
			dry = g.ErrorRate.DryRun
			whole = judgeErrors(g.ErrorRate, step, ev.Step, alpha, false)
			recent = func(w recentWindow) GateResult {
				return judgeErrors(g.ErrorRate, step, w.Measure, countAlpha(w), true)
			}
		case GateErrorCeiling:
			dry = g.ErrorRate.DryRun
			whole = judgeErrorCeiling(g.ErrorRate, ev.Step, alpha)
			recent = func(w recentWindow) GateResult { return judgeErrorCeiling(g.ErrorRate, w.Measure, countAlpha(w)) }
		case GateLatency:
			dry, pairsOnly = g.Latency.DryRun, true
			whole = judgeLatency(g.Latency, ev.Step, spentAlpha(alpha, ev.Look))
			recent = func(w recentWindow) GateResult { return judgeLatencyPairs(g.Latency, w.Measure.Pairs, pairAlpha) }
		case GateLatencyTail:
			dry, pairsOnly = g.Latency.DryRun || g.Latency.Tail.DryRun, true
			// The step's sample is a fixed-sample test looked at every interval.
			whole = judgeTail(g.Latency, ev.StepPairs, spentAlpha(alpha, ev.Look))
			recent = func(w recentWindow) GateResult { return judgeTail(g.Latency, w.Measure.Pairs, pairAlpha) }
		case GateLatencyCeiling:
			dry, pairsOnly = g.Latency.DryRun, true
			whole = judgeLatencyCeiling(g.Latency, ev.StepPairs, spentAlpha(alpha, ev.Look))
			recent = func(w recentWindow) GateResult { return judgeLatencyCeiling(g.Latency, w.Measure.Pairs, pairAlpha) }
		case GateDifferences:
			dry = g.Differences.DryRun
			whole = judgeDifferences(g.Differences, ev.Step, alpha)
			recent = func(w recentWindow) GateResult {
				return judgeDifferencesOverall(g.Differences, w.Measure, countAlpha(w))
			}
		}
		if pairsOnly && !ev.Step.latencyComparable() {
			whole = GateResult{Verdict: GateNotApplicable, Reason: "not applicable: no source measures legacy and the candidate alike (" +
				"a tap without --secondary sees legacy on the wire, the candidate as sent)"}
			recent = nil
		}
		res := whole
		res.Window = WindowStep
		if res.Verdict != GateFail && recent != nil {
			for _, w := range ev.Recent {
				if pairsOnly && !w.judgesPairs {
					continue
				}
				if r := recent(w); r.Verdict == GateFail {
					res = r
					res.Window = WindowRecent
					res.Reason = fmt.Sprintf("in the last %s: %s", w.Span.Round(time.Millisecond), r.Reason)
					break
				}
			}
		}
		res.Gate, res.DryRun = name, dry
		out = append(out, res)
	}
	return out
}

// latencyComparable says whether any source of m measured both sides
// alike: false when every one that answered said its latency is not
// comparable (diff.LatencyNotComparable). Before the first verdict it is
// true, and the gates wait for one.
func (m Measure) latencyComparable() bool {
	if len(m.Latency) == 0 {
		return true
	}
	return slices.ContainsFunc(m.Latency, func(v diff.LatencyVerdict) bool { return v.Status != diff.LatencyNotComparable })
}

// comparableLatency is m's verdicts of the sources that judge latency.
func (m Measure) comparableLatency() []diff.LatencyVerdict {
	return slices.DeleteFunc(slices.Clone(m.Latency), func(v diff.LatencyVerdict) bool { return v.Status == diff.LatencyNotComparable })
}

// judgeErrors compares the candidate's error rate with the legacy's. Given
// k errors in all, each is the candidate's with probability
// q = nc·r/(nc·r + nl) when the candidate's rate is r times the legacy's:
// the mixture SPRT of "q ≤ q0 at r = MaxRatio" on the candidate's share of
// the errors needs no estimate of either rate. At weight 100 legacy serves
// nothing, so its rate comes from the shadow copies it answered.
func judgeErrors(cfg ErrorRateGate, step Step, m Measure, alpha float64, recent bool) GateResult {
	res := GateResult{Gate: GateErrorRate}
	cand, leg := m.Candidate, m.Legacy
	source := "served"
	if c := m.Counts; (leg.Requests == 0 || step.Weight == 100) && !m.LegacyBaseline {
		leg = Served{Requests: c.Compared + c.Failed.Legacy + c.Failed.Candidate + c.Failed.Both, Errors: c.Failed.Legacy + c.Failed.Both}
		source = "shadow"
	}
	if m.LegacyBaseline {
		source = "served at the step before"
	}
	res.Figures = map[string]float64{
		"candidate_requests": float64(cand.Requests), "candidate_rate": rate(cand.Errors, cand.Requests),
		"legacy_requests": float64(leg.Requests), "legacy_rate": rate(leg.Errors, leg.Requests), "max_ratio": cfg.MaxRatio,
	}
	switch {
	case cand.Requests == 0 && leg.Requests > 0:
		res.Verdict = GateInsufficient
		res.Reason = fmt.Sprintf("the candidate served none of %d requests at this weight: too few users, or all traffic from one IP (see the mirror's --split-key)", leg.Requests)
		return res
	case cand.Requests == 0 || leg.Requests == 0:
		res.Verdict, res.Reason = GateInsufficient, "no traffic yet on one side"
		return res
	}
	nc, nl := float64(cand.Requests), float64(leg.Requests)
	q0 := nc * cfg.MaxRatio / (nc*cfg.MaxRatio + nl)
	reject, llr := sequentialReject(cand.Errors, cand.Errors+leg.Errors, q0, alpha)
	res.Figures["log_likelihood_ratio"] = round3(llr)
	res.Figures["threshold"] = round3(math.Log(1 / alpha))
	desc := fmt.Sprintf("candidate %.3g%% errors (%d of %d), legacy %.3g%% (%d of %d, %s)",
		100*rate(cand.Errors, cand.Requests), cand.Errors, cand.Requests, 100*rate(leg.Errors, leg.Requests), leg.Errors, leg.Requests, source)
	switch {
	case reject:
		res.Verdict, res.Reason = GateFail, desc+fmt.Sprintf(": credibly over %g× the legacy's", cfg.MaxRatio)
	case recent:
		res.Verdict, res.Reason = GatePass, desc
	case cand.Requests < step.MinRequests || (source != "shadow" && leg.Requests < step.MinRequests):
		res.Verdict, res.Reason = GateInsufficient, desc+fmt.Sprintf(": fewer than %d requests per side", step.MinRequests)
	default:
		res.Verdict, res.Reason = GatePass, desc
	}
	return res
}

// judgeLatency reads each mirror's Mann-Whitney/Hodges-Lehmann verdict and
// fails when one shows the candidate slower beyond the tolerance at the
// level this look may spend (alpha, from spentAlpha), split between the
// mirrors.
func judgeLatency(cfg LatencyGate, m Measure, alpha float64) GateResult {
	res := GateResult{Gate: GateLatency}
	// A tap beside mirrors: only those that measured alike are judged.
	m.Latency = m.comparableLatency()
	if len(m.Latency) == 0 {
		res.Verdict, res.Reason = GateInsufficient, "no latency measured yet"
		return res
	}
	level := alpha / float64(len(m.Latency))
	floor := float64(cfg.MaxShift) / float64(time.Millisecond)
	tolerance := func(v diff.LatencyVerdict) float64 { return math.Max(v.ToleranceMs, floor) }
	worst := slices.MaxFunc(m.Latency, func(a, b diff.LatencyVerdict) int {
		return cmpFloat(a.ShiftLowMs-tolerance(a), b.ShiftLowMs-tolerance(b))
	})
	res.Figures = map[string]float64{"shift_ms": worst.ShiftMs, "shift_low_ms": worst.ShiftLowMs, "shift_high_ms": worst.ShiftHighMs,
		"tolerance_ms": tolerance(worst), "p_value": worst.PValue, "level": roundSig(level), "samples": float64(worst.Samples)}
	for _, v := range m.Latency {
		if v.Status == diff.LatencyInconclusive {
			res.Verdict, res.Reason = GateInsufficient, fmt.Sprintf("too few compared exchanges for a latency verdict (%d of %d)", v.Samples, v.MinSamples)
			return res
		}
	}
	way := "slower"
	if worst.ShiftMs < 0 {
		way = "faster"
	}
	desc := fmt.Sprintf("candidate %s by %.3g ms (interval %.3g to %.3g, p=%.3g), tolerance %.3g ms", way, math.Abs(worst.ShiftMs), worst.ShiftLowMs, worst.ShiftHighMs, worst.PValue, tolerance(worst))
	if worst.PValue < level && worst.ShiftLowMs > tolerance(worst) {
		res.Verdict, res.Reason = GateFail, desc+fmt.Sprintf(": over the tolerance at level %.2g", level)
		return res
	}
	res.Verdict, res.Reason = GatePass, desc
	return res
}

// judgeDifferences tests the share of compared exchanges that differ,
// overall and per endpoint, with the mixture SPRT; half the gate's level
// goes to the overall test, half is split between the endpoints.
func judgeDifferences(cfg DifferencesGate, m Measure, alpha float64) GateResult {
	res := GateResult{Gate: GateDifferences}
	c := m.Counts
	res.Figures = map[string]float64{"compared": float64(c.Compared), "different": float64(c.Different),
		"rate": rate(c.Different, c.Compared), "max_rate": cfg.MaxRate, "max_endpoint_rate": cfg.MaxEndpointRate}
	if reject, llr := sequentialReject(c.Different, c.Compared, cfg.MaxRate, alpha/2); reject {
		res.Figures["log_likelihood_ratio"] = round3(llr)
		res.Verdict = GateFail
		res.Reason = fmt.Sprintf("%d of %d compared exchanges differ (%.3g%%): credibly over %g%%", c.Different, c.Compared, 100*rate(c.Different, c.Compared), 100*cfg.MaxRate)
		return res
	}
	names := make([]string, 0, len(m.Endpoints))
	for name := range m.Endpoints {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		e := m.Endpoints[name]
		if reject, _ := sequentialReject(e.Different, e.Compared, cfg.MaxEndpointRate, alpha/2/float64(len(names))); reject {
			res.Verdict = GateFail
			res.Reason = fmt.Sprintf("%s: %d of %d compared exchanges differ (%.3g%%): credibly over %g%%", name, e.Different, e.Compared, 100*rate(e.Different, e.Compared), 100*cfg.MaxEndpointRate)
			res.Figures["endpoint_rate"] = rate(e.Different, e.Compared)
			return res
		}
	}
	desc := fmt.Sprintf("%d of %d compared exchanges differ", c.Different, c.Compared)
	if c.Compared < cfg.MinCompared {
		res.Verdict, res.Reason = GateInsufficient, desc+fmt.Sprintf(": fewer than %d compared", cfg.MinCompared)
		return res
	}
	res.Verdict, res.Reason = GatePass, desc
	return res
}

func rate(x, n int64) float64 {
	if n == 0 {
		return 0
	}
	return roundSig(float64(x) / float64(n))
}

func roundSig(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	mag := math.Pow(10, 3-math.Ceil(math.Log10(math.Abs(v))))
	if math.IsInf(mag, 0) {
		return v // subnormal: scaling overflows
	}
	return math.Round(v*mag) / mag
}

func round3(v float64) float64 {
	if math.IsInf(v, 0) {
		return math.Copysign(1e308, v)
	}
	return math.Round(v*1000) / 1000
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
