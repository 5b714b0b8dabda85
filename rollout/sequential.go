package rollout

import "math"

// The gates are checked every interval, on data that keeps growing. A
// fixed-sample test looked at again and again fails a good candidate far
// more often than its level says; these tests stay valid however often
// they are looked at.
//
// mixtureLogLR is the log of a mixture likelihood ratio for x successes in
// n Bernoulli trials: H0 p ≤ p0 against H1 p > p0, with a uniform prior on
// (p0, 1]:
//
//	Λ = ∫_{p0}^{1} p^x (1-p)^(n-x) dp / ((1-p0) · p0^x (1-p0)^(n-x))
//
// Under H0, Λ is a nonnegative supermartingale with mean at most 1, so by
// Ville's inequality P(Λ ever reaches 1/α) ≤ α: rejecting H0 the first time
// Λ ≥ 1/α is a test of level α under continuous monitoring (a mixture
// SPRT, after Robbins).
func mixtureLogLR(x, n int64, p0 float64) float64 {
	if x < 0 || n < x {
		return math.Inf(-1)
	}
	if p0 <= 0 {
		if x > 0 {
			return math.Inf(1) // any success refutes p = 0
		}
		return -math.Log(float64(n + 1))
	}
	if p0 >= 1 {
		return math.Inf(-1)
	}
	a, b := float64(x)+1, float64(n-x)+1
	// ∫_{p0}^{1} p^(a-1)(1-p)^(b-1) dp = B(a,b) · (1 - I_p0(a,b))
	num := logBeta(a, b) + logUpperRegBeta(a, b, p0)
	den := math.Log1p(-p0) + float64(x)*math.Log(p0) + float64(n-x)*math.Log1p(-p0)
	return num - den
}

// sequentialReject reports whether x of n rejects p ≤ p0 at level alpha
// under continuous monitoring, with the log likelihood ratio as evidence.
func sequentialReject(x, n int64, p0, alpha float64) (bool, float64) {
	llr := mixtureLogLR(x, n, p0)
	return llr >= math.Log(1/alpha), llr
}

func logBeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// logUpperRegBeta is log(1 - I_x(a,b)) = log I_{1-x}(b,a), computed by the
// continued fraction on whichever side converges (Numerical Recipes'
// betai), in logs so that large counts do not underflow.
func logUpperRegBeta(a, b, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return math.Inf(-1)
	}
	// log of x^a (1-x)^b / (a B(a,b)) front factor, for I_x(a,b).
	front := func(a, b, x float64) float64 {
		return a*math.Log(x) + b*math.Log1p(-x) - logBeta(a, b) - math.Log(a)
	}
	if x < (a+1)/(a+b+2) {
		// I_x(a,b) is small and converges here: 1 - I_x(a,b).
		lower := math.Exp(front(a, b, x) + math.Log(betaCF(a, b, x)))
		return math.Log1p(-math.Min(lower, 1))
	}
	// I_{1-x}(b,a) converges directly.
	return front(b, a, 1-x) + math.Log(betaCF(b, a, 1-x))
}

// betaCF evaluates the continued fraction of the incomplete beta function
// by the modified Lentz method.
func betaCF(a, b, x float64) float64 {
	const (
		maxIter = 10000
		eps     = 1e-14
		tiny    = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// spentAlpha is the level for the k-th look (k ≥ 1) of a fixed-sample test
// repeated over a step: α·6/(π²k²), which sums to α over all looks, so the
// union bound keeps the step's false-alarm level at α.
func spentAlpha(alpha float64, k int) float64 {
	if k < 1 {
		k = 1
	}
	return alpha * 6 / (math.Pi * math.Pi * float64(k) * float64(k))
}
