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
const (
	GatePass         = "pass"
	GateFail         = "fail"
	GateInsufficient = "insufficient"
)

// GateResult is one gate's verdict on a step with the figures behind it.
type GateResult struct {
	Gate    string             `json:"gate"`
	Verdict string             `json:"verdict"`
	Reason  string             `json:"reason"`
	Figures map[string]float64 `json:"figures,omitempty"`
	// DryRun gates are judged and journaled but decide nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// judge evaluates every enabled gate. look counts the evaluations of this
// step (1, 2, ...). The plan's false-alarm level is split evenly between
// the steps and the enabled gates (a union bound), and each gate's test is
// valid under repeated looks, so a candidate no worse than legacy is
// rolled back with at most that probability over the whole rollout,
// however long each step is watched.
func judge(p *Plan, step Step, m Measure, look int) []GateResult {
	g := p.Gates
	enabled := 0
	for _, off := range []bool{g.ErrorRate.Disabled, g.Latency.Disabled, g.Differences.Disabled} {
		if !off {
			enabled++
		}
	}
	alpha := p.FalseAlarm / float64(len(p.Steps)*max(enabled, 1))
	var out []GateResult
	if !g.ErrorRate.Disabled {
		out = append(out, judgeErrors(g.ErrorRate, step, m, alpha))
	}
	if !g.Latency.Disabled {
		out = append(out, judgeLatency(g.Latency, m, alpha, look))
	}
	if !g.Differences.Disabled {
		out = append(out, judgeDifferences(g.Differences, m, alpha))
	}
	return out
}

// judgeErrors compares the candidate's error rate with the legacy's. Given
// k errors in all, each is the candidate's with probability
// q = nc·r/(nc·r + nl) when the candidate's rate is r times the legacy's:
// the mixture SPRT of "q ≤ q0 at r = MaxRatio" on the candidate's share of
// the errors needs no estimate of either rate. At weight 100 legacy serves
// nothing, so its rate comes from the shadow copies it answered.
func judgeErrors(cfg ErrorRateGate, step Step, m Measure, alpha float64) GateResult {
	res := GateResult{Gate: "error_rate"}
	cand, leg := m.Candidate, m.Legacy
	source := "served"
	if leg.Requests == 0 {
		c := m.Counts
		leg = Served{Requests: c.Compared + c.Failed.Legacy + c.Failed.Candidate + c.Failed.Both, Errors: c.Failed.Legacy + c.Failed.Both}
		source = "shadow"
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
	case cand.Requests < step.MinRequests || (source == "served" && leg.Requests < step.MinRequests):
		res.Verdict, res.Reason = GateInsufficient, desc+fmt.Sprintf(": fewer than %d requests per side", step.MinRequests)
	default:
		res.Verdict, res.Reason = GatePass, desc
	}
	return res
}

// judgeLatency reads each mirror's Mann-Whitney/Hodges-Lehmann verdict and
// fails when one shows the candidate slower beyond the tolerance at the
// level this look may spend (see spentAlpha), split between the mirrors.
func judgeLatency(cfg LatencyGate, m Measure, alpha float64, look int) GateResult {
	res := GateResult{Gate: "latency"}
	if len(m.Latency) == 0 {
		res.Verdict, res.Reason = GateInsufficient, "no latency measured yet"
		return res
	}
	level := spentAlpha(alpha/float64(len(m.Latency)), look)
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
	res := GateResult{Gate: "differences"}
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
