package diff

import (
	"math"
	"slices"
)

// Change is the candidate's value minus the legacy's at one percentile, in
// ms, with an interval: positive is slower.
type Change struct {
	Ms     float64 `json:"ms"`
	LowMs  float64 `json:"low_ms"`
	HighMs float64 `json:"high_ms"`
	// Confidence is the interval's (at least; see quantileChange).
	Confidence float64 `json:"confidence"`
}

// quantileChange is the change at quantile q (0–1) from the histograms'
// percentiles (legacyP, candidateP), with an interval from the latency
// samples: each side's distribution-free interval of the quantile (order
// statistics, normal approximation of the binomial) at confidence
// sqrt(conf), combined as [cLow-lHigh, cHigh-lLow], so the difference is
// covered at least at conf. nil when a side has fewer than 30 values.
func quantileChange(legacy, candidate []float64, q, conf, legacyP, candidateP float64) *Change {
	if len(legacy) < 30 || len(candidate) < 30 {
		return nil
	}
	side := math.Sqrt(conf)
	z := normalQuantile(1 - (1-side)/2)
	ll, lh := quantileInterval(legacy, q, z)
	cl, ch := quantileInterval(candidate, q, z)
	c := &Change{Ms: round3(candidateP - legacyP), LowMs: round3(cl - lh), HighMs: round3(ch - ll), Confidence: conf}
	// The point estimate comes from every exchange, the interval from a
	// sample: keep the estimate inside its interval.
	c.LowMs, c.HighMs = min(c.LowMs, c.Ms), max(c.HighMs, c.Ms)
	return c
}

// quantileInterval is the interval of quantile q of s at the z of a
// normal quantile: the order statistics n·q ± z·sqrt(n·q·(1-q)).
func quantileInterval(s []float64, q, z float64) (float64, float64) {
	v := slices.Clone(s)
	slices.Sort(v)
	n := float64(len(v))
	half := z * math.Sqrt(n*q*(1-q))
	lo := int(math.Floor(n*q - half))
	hi := int(math.Ceil(n*q + half))
	lo = min(max(lo, 0), len(v)-1)
	hi = min(max(hi, 0), len(v)-1)
	return v[lo], v[hi]
}

// normalQuantile is the standard normal's quantile function (Acklam's
// rational approximation, relative error below 1.2e-9).
func normalQuantile(p float64) float64 {
	a := [...]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [...]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [...]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := [...]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	const low = 0.02425
	switch {
	case p < low:
		q := math.Sqrt(-2 * math.Log(p))
		return (((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	case p <= 1-low:
		q := p - 0.5
		r := q * q
		return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
	default:
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	}
}

func slowerOrFaster(shift float64) string {
	if shift < 0 {
		return "faster"
	}
	return "slower"
}
