package rollout

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cutover/cutover/diff"
)

// The gates below judge latency pairs the controller collected itself (the
// step's sample and the recent window's), and the absolute ceilings.

// minPairs is the fewest pairs a latency test on pairs judges at all.
const minPairs = 30

// minTailQuantile is the lowest quantile the tail gate judges.
const minTailQuantile = 0.9

// maxRecentPairs bounds the pairs of one recent-window test (the newest).
const maxRecentPairs = 4000

// judgeLatencyPairs is the median gate on pairs: Mann-Whitney with the
// Hodges-Lehmann shift, as the mirrors judge their windows.
func judgeLatencyPairs(cfg LatencyGate, pairs LatencyPairs, alpha float64) GateResult {
	res := GateResult{Gate: GateLatency}
	leg, cand := newest(pairs, maxRecentPairs)
	if len(leg) < minPairs {
		res.Verdict, res.Reason = GateInsufficient, fmt.Sprintf("%d compared exchanges, fewer than %d", len(leg), minPairs)
		return res
	}
	v := diff.JudgeLatency(leg, cand, diff.LatencyConfig{Alpha: alpha})
	tol := math.Max(v.ToleranceMs, msOf(cfg.MaxShift))
	res.Figures = map[string]float64{"shift_ms": v.ShiftMs, "shift_low_ms": v.ShiftLowMs, "shift_high_ms": v.ShiftHighMs,
		"tolerance_ms": tol, "p_value": v.PValue, "level": roundSig(alpha), "samples": float64(v.Samples)}
	desc := fmt.Sprintf("candidate slower by %.3g ms (interval %.3g to %.3g, p=%.3g, %d pairs), tolerance %.3g ms", v.ShiftMs, v.ShiftLowMs, v.ShiftHighMs, v.PValue, v.Samples, tol)
	if v.PValue < alpha && v.ShiftLowMs > tol {
		res.Verdict, res.Reason = GateFail, desc+fmt.Sprintf(": over the tolerance at level %.2g", alpha)
		return res
	}
	res.Verdict, res.Reason = GatePass, desc
	return res
}

// judgeTail compares a high quantile of each side. Each quantile gets a
// distribution-free bound from the order statistics (exact binomial, at
// half the level each), and the gate fails when the candidate's lower
// bound is later than the legacy's upper bound by more than the
// tolerance: "the candidate's p99 is credibly later".
//
// A sample too small to bound the quantile asked for at this level is
// judged at the highest quantile it can bound, and says so: a thin step
// is judged on what it can show rather than held to its deadline. Below
// p90 the gate waits (insufficient).
func judgeTail(cfg LatencyGate, pairs LatencyPairs, alpha float64) GateResult {
	res := GateResult{Gate: GateLatencyTail}
	n := pairs.Len()
	if n < minPairs {
		res.Verdict, res.Reason = GateInsufficient, fmt.Sprintf("%d compared exchanges, fewer than %d", n, minPairs)
		return res
	}
	q, lowered := cfg.Tail.Quantile, ""
	// The legacy's upper bound exists while q^n ≤ alpha/2.
	if most := math.Pow(alpha/2, 1/float64(n)) - 1e-9; q > most {
		if most < minTailQuantile {
			res.Verdict = GateInsufficient
			res.Reason = fmt.Sprintf("%d pairs cannot bound even the p%g at level %.2g (about %d needed)", n, 100*minTailQuantile, alpha,
				int(math.Ceil(math.Log(alpha/2)/math.Log(minTailQuantile))))
			return res
		}
		lowered = fmt.Sprintf(" (judged at the %s: %d pairs cannot bound the %s at this level)", quantileName(math.Floor(most*1000)/1000), n, quantileName(q))
		q = math.Floor(most*1000) / 1000
	}
	leg, cand := slices.Clone(pairs.Legacy[:n]), slices.Clone(pairs.Candidate[:n])
	slices.Sort(leg)
	slices.Sort(cand)
	legQ, candQ := quantile(leg, q), quantile(cand, q)
	tol := math.Max(math.Max(msOf(cfg.Tail.MaxShift), msOf(cfg.MaxShift)), math.Max(0.1*legQ, 1))
	candLo, okCandLo := lowerBound(cand, q, alpha/2)
	legHi, okLegHi := upperBound(leg, q, alpha/2)
	candHi, _ := upperBound(cand, q, alpha/2)
	legLo, _ := lowerBound(leg, q, alpha/2)
	name := quantileName(q)
	res.Figures = map[string]float64{"quantile": q, "legacy_ms": round3(legQ), "candidate_ms": round3(candQ), "shift_ms": round3(candQ - legQ),
		"tolerance_ms": round3(tol), "level": roundSig(alpha), "samples": float64(n)}
	desc := fmt.Sprintf("%s candidate %.3g ms, legacy %.3g ms", name, candQ, legQ)
	if okCandLo && okLegHi {
		low, high := candLo-legHi, candHi-legLo
		res.Figures["shift_low_ms"], res.Figures["shift_high_ms"] = round3(low), round3(high)
		desc += fmt.Sprintf(": shift %.3g ms (interval %.3g to %.3g, %d pairs), tolerance %.3g ms", candQ-legQ, low, high, n, tol)
		if low > tol {
			res.Verdict, res.Reason = GateFail, desc+fmt.Sprintf(": the %s is later beyond the tolerance at level %.2g", name, alpha)+lowered
			return res
		}
		res.Verdict, res.Reason = GatePass, desc+lowered
		return res
	}
	res.Verdict = GateInsufficient
	res.Reason = desc + fmt.Sprintf(": %d pairs cannot bound the %s at level %.2g (about %d needed)", n, name, alpha, int(math.Ceil(math.Log(alpha/2)/math.Log(q))))
	return res
}

// judgeLatencyCeiling fails when the candidate's p99 is credibly over
// max_p99. A ceiling only fails: staying under it needs no proof.
func judgeLatencyCeiling(cfg LatencyGate, pairs LatencyPairs, alpha float64) GateResult {
	res := GateResult{Gate: GateLatencyCeiling}
	n := pairs.Len()
	limit := msOf(cfg.MaxP99)
	if n == 0 {
		res.Verdict, res.Reason = GateInsufficient, "no compared exchanges yet"
		return res
	}
	cand := slices.Clone(pairs.Candidate[:n])
	slices.Sort(cand)
	p99 := quantile(cand, 0.99)
	lo, ok := lowerBound(cand, 0.99, alpha)
	res.Figures = map[string]float64{"candidate_p99_ms": round3(p99), "max_p99_ms": limit, "level": roundSig(alpha), "samples": float64(n)}
	desc := fmt.Sprintf("candidate p99 %.3g ms (%d pairs), ceiling %s", p99, n, cfg.MaxP99)
	if ok {
		res.Figures["p99_low_ms"] = round3(lo)
		if lo > limit {
			res.Verdict, res.Reason = GateFail, desc+fmt.Sprintf(": credibly over it (at least %.3g ms at level %.2g)", lo, alpha)
			return res
		}
	}
	res.Verdict, res.Reason = GatePass, desc
	return res
}

// judgeErrorCeiling fails when the candidate's served error rate is
// credibly over error_rate.max (the mixture SPRT).
func judgeErrorCeiling(cfg ErrorRateGate, m Measure, alpha float64) GateResult {
	res := GateResult{Gate: GateErrorCeiling}
	c := m.Candidate
	max := float64(cfg.Max)
	if c.Requests == 0 {
		res.Verdict, res.Reason = GateInsufficient, "the candidate served nothing yet"
		return res
	}
	reject, llr := sequentialReject(c.Errors, c.Requests, max, alpha)
	res.Figures = map[string]float64{"candidate_requests": float64(c.Requests), "candidate_rate": rate(c.Errors, c.Requests), "max": max,
		"log_likelihood_ratio": round3(llr), "threshold": round3(math.Log(1 / alpha))}
	desc := fmt.Sprintf("candidate %.3g%% errors (%d of %d), ceiling %.3g%%", 100*rate(c.Errors, c.Requests), c.Errors, c.Requests, 100*max)
	if reject {
		res.Verdict, res.Reason = GateFail, desc+": credibly over it"
		return res
	}
	res.Verdict, res.Reason = GatePass, desc
	return res
}

// judgeDifferencesOverall is the differences gate's overall test alone,
// for the recent window.
func judgeDifferencesOverall(cfg DifferencesGate, m Measure, alpha float64) GateResult {
	res := GateResult{Gate: GateDifferences}
	c := m.Counts
	reject, llr := sequentialReject(c.Different, c.Compared, cfg.MaxRate, alpha)
	res.Figures = map[string]float64{"compared": float64(c.Compared), "different": float64(c.Different), "rate": rate(c.Different, c.Compared),
		"max_rate": cfg.MaxRate, "log_likelihood_ratio": round3(llr)}
	res.Reason = fmt.Sprintf("%d of %d compared exchanges differ (%.3g%%)", c.Different, c.Compared, 100*rate(c.Different, c.Compared))
	res.Verdict = GatePass
	if reject {
		res.Verdict, res.Reason = GateFail, res.Reason+fmt.Sprintf(": credibly over %g%%", 100*cfg.MaxRate)
	}
	return res
}

// quantile is the q-quantile of a sorted sample (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// lowerBound is the largest order statistic X(k) with P(X(k) > Q_q) ≤ a:
// P(Binomial(n, q) < k) ≤ a. ok is false when no k qualifies.
func lowerBound(sorted []float64, q, a float64) (float64, bool) {
	n := len(sorted)
	// P(Bin < k) grows with k: the largest k in [1, n] under a.
	k := searchLargest(1, n, func(k int) bool { return binomBelow(n, k, q) <= a })
	if k < 1 {
		return 0, false
	}
	return sorted[k-1], true
}

// upperBound is the smallest X(k) with P(X(k) < Q_q) ≤ a: P(Bin ≥ k) ≤ a.
func upperBound(sorted []float64, q, a float64) (float64, bool) {
	n := len(sorted)
	// P(Bin ≥ k) falls with k: the smallest k in [1, n] under a.
	k := searchSmallest(1, n, func(k int) bool { return binomAtLeast(n, k, q) <= a })
	if k > n {
		return 0, false
	}
	return sorted[k-1], true
}

// binomBelow is P(Binomial(n, q) < k) = 1 - I_q(k, n-k+1).
func binomBelow(n, k int, q float64) float64 {
	if k <= 0 {
		return 0
	}
	if k > n {
		return 1
	}
	return math.Exp(logUpperRegBeta(float64(k), float64(n-k+1), q))
}

// binomAtLeast is P(Binomial(n, q) ≥ k) = I_q(k, n-k+1) = 1 - I_{1-q}(n-k+1, k).
func binomAtLeast(n, k int, q float64) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	return math.Exp(logUpperRegBeta(float64(n-k+1), float64(k), 1-q))
}

// searchLargest returns the largest k in [lo, hi] with ok(k), ok falling
// from true to false, or lo-1.
func searchLargest(lo, hi int, ok func(int) bool) int {
	best := lo - 1
	for lo <= hi {
		mid := (lo + hi) / 2
		if ok(mid) {
			best, lo = mid, mid+1
		} else {
			hi = mid - 1
		}
	}
	return best
}

// searchSmallest returns the smallest k in [lo, hi] with ok(k), ok rising
// from false to true, or hi+1.
func searchSmallest(lo, hi int, ok func(int) bool) int {
	best := hi + 1
	for lo <= hi {
		mid := (lo + hi) / 2
		if ok(mid) {
			best, hi = mid, mid-1
		} else {
			lo = mid + 1
		}
	}
	return best
}

// newest returns at most n of the latest pairs.
func newest(p LatencyPairs, n int) (legacy, candidate []float64) {
	l := p.Len()
	from := max(l-n, 0)
	return p.Legacy[from:l], p.Candidate[from:l]
}

func quantileName(q float64) string {
	return fmt.Sprintf("p%g", roundSig(100*q))
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
