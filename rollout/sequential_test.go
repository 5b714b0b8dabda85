package rollout

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Λ computed by direct numerical integration, for small counts.
func bruteLR(x, n int64, p0 float64) float64 {
	const steps = 200000
	var num float64
	h := (1 - p0) / steps
	for i := range steps {
		p := p0 + (float64(i)+0.5)*h
		num += math.Pow(p, float64(x)) * math.Pow(1-p, float64(n-x)) * h
	}
	return num / ((1 - p0) * math.Pow(p0, float64(x)) * math.Pow(1-p0, float64(n-x)))
}

func TestMixtureLRMatchesIntegration(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		x, n int64
		p0   float64
	}{{0, 10, 0.1}, {3, 10, 0.1}, {5, 5, 0.27}, {20, 100, 0.1}, {1, 50, 0.01}, {40, 60, 0.5}} {
		got := math.Exp(mixtureLogLR(tt.x, tt.n, tt.p0))
		want := bruteLR(tt.x, tt.n, tt.p0)
		if math.Abs(got-want)/want > 1e-4 {
			t.Errorf("Λ(x=%d, n=%d, p0=%g) = %g, want %g", tt.x, tt.n, tt.p0, got, want)
		}
	}
}

func TestMixtureLRLargeCountsStayFinite(t *testing.T) {
	t.Parallel()
	llr := mixtureLogLR(1000, 100000, 0.01)
	if math.IsNaN(llr) || math.IsInf(llr, 0) || llr > 1 {
		t.Errorf("x at exactly p0 over 100k trials: log Λ = %g, want finite and small", llr)
	}
	if llr := mixtureLogLR(2000, 100000, 0.01); llr < 50 {
		t.Errorf("x at twice p0 over 100k trials: log Λ = %g, want overwhelming evidence", llr)
	}
}

// Under H0, checked after every trial, the test rejects at most alpha of
// the time (Ville's inequality), unlike a fixed-sample test looked at
// repeatedly.
func TestSequentialLevelUnderContinuousMonitoring(t *testing.T) {
	t.Parallel()
	const (
		runs  = 400
		n     = 2000
		p0    = 0.05
		alpha = 0.05
	)
	rejected := 0
	for run := range runs {
		rng := rand.New(rand.NewPCG(uint64(run), 1))
		var x int64
		for i := int64(1); i <= n; i++ {
			if rng.Float64() < p0 {
				x++
			}
			if i%10 == 0 {
				if ok, _ := sequentialReject(x, i, p0, alpha); ok {
					rejected++
					break
				}
			}
		}
	}
	if rate := float64(rejected) / runs; rate > alpha {
		t.Errorf("false rejections %.3f over %d monitored runs, want at most %g", rate, runs, alpha)
	}
}

func TestSpentAlphaSumsToAlpha(t *testing.T) {
	t.Parallel()
	var sum float64
	for k := 1; k <= 1000000; k++ {
		sum += spentAlpha(0.05, k)
	}
	if sum > 0.05 || sum < 0.0499 {
		t.Errorf("sum of spent alpha = %g, want just under 0.05", sum)
	}
}
