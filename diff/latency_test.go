package diff

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lognormal draws n answer times (ms) around median with a proxy-like
// right skew, scaled by factor.
func lognormal(rng *rand.Rand, n int, median, factor float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = median * math.Exp(0.3*rng.NormFloat64()) * factor
	}
	return s
}

func TestJudgeLatency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		n      int
		factor float64 // candidate over legacy
		want   string
	}{
		{name: "10% slower at n=2000", n: 2000, factor: 1.10, want: LatencyRegression},
		{name: "identical at n=2000", n: 2000, factor: 1, want: LatencyOK},
		{name: "2% slower is within the 5% tolerance", n: 2000, factor: 1.02, want: LatencyOK},
		{name: "faster", n: 2000, factor: 0.8, want: LatencyOK},
		{name: "n=10 is inconclusive", n: 10, factor: 2, want: LatencyInconclusive},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			legacy := lognormal(rng, tt.n, 100, 1)
			candidate := lognormal(rng, tt.n, 100, tt.factor)
			got := JudgeLatency(legacy, candidate, LatencyConfig{})
			if got.Status != tt.want {
				t.Errorf("status = %q, want %q (%+v)", got.Status, tt.want, got)
			}
		})
	}
}

// TestJudgeLatencyFalseAlarms runs 200 seeded trials of identical
// distributions: at most the configured 5% may be regressions, and the
// test itself must not be significant much more often than alpha.
func TestJudgeLatencyFalseAlarms(t *testing.T) {
	t.Parallel()
	const trials = 200
	regressions, significant := 0, 0
	for trial := range trials {
		rng := rand.New(rand.NewPCG(uint64(trial), 2000))
		legacy := lognormal(rng, 2000, 100, 1)
		candidate := lognormal(rng, 2000, 100, 1)
		v := JudgeLatency(legacy, candidate, LatencyConfig{})
		if v.Status == LatencyRegression {
			regressions++
		}
		if v.PValue < 0.05 {
			significant++
		}
	}
	if regressions > trials*5/100 {
		t.Errorf("%d of %d identical trials flagged as regressions, want at most 5%%", regressions, trials)
	}
	// alpha plus three standard deviations of a binomial(200, 0.05).
	if limit := int(trials * (0.05 + 3*math.Sqrt(0.05*0.95/trials))); significant > limit {
		t.Errorf("%d of %d identical trials significant, want at most %d", significant, trials, limit)
	}
}

func TestLatencyConfigDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   LatencyConfig
		want LatencyConfig
	}{
		{name: "zero", in: LatencyConfig{}, want: LatencyConfig{Alpha: 0.05, RelativeTolerance: 0.05, AbsoluteTolerance: time.Millisecond, MinSamples: 30}},
		{name: "negative means none", in: LatencyConfig{Alpha: 0.01, RelativeTolerance: -1, AbsoluteTolerance: -1, MinSamples: 100},
			want: LatencyConfig{Alpha: 0.01, MinSamples: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.in.withDefaults()); diff != "" {
				t.Errorf("withDefaults (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLatencyHistPercentiles(t *testing.T) {
	t.Parallel()
	h := newLatencyHist()
	for i := 1; i <= 100; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	got := h.percentiles()
	// Two significant digits: values within 1% of the exact ones.
	want := Percentiles{P50: 50.175, P90: 90.111, P99: 99.327, Max: 100, Mean: 50.5, Count: 100}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("percentiles (-want +got):\n%s", diff)
	}
}

// TestPairReservoirUniform checks the reservoir keeps a uniform sample:
// the mean of the kept values is that of the stream.
func TestPairReservoirUniform(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	r := pairReservoir{size: 1000}
	const n = 100_000
	for i := range n {
		d := time.Duration(i) * time.Millisecond
		r.add(rng, d, 2*d)
	}
	if len(r.legacy) != 1000 || r.seen != n {
		t.Fatalf("kept %d of %d, want 1000 of %d", len(r.legacy), r.seen, n)
	}
	var sum float64
	for i, v := range r.legacy {
		sum += float64(v)
		if r.candidate[i] != 2*v {
			t.Fatalf("pair %d split: %v, %v", i, v, r.candidate[i])
		}
	}
	// Mean of uniform 0..n-1 is n/2, sd of the mean of 1000 is ~n/110.
	if mean := sum / 1000; math.Abs(mean-n/2) > n/20 {
		t.Errorf("mean of the sample %v, want near %v", mean, n/2)
	}
}

// TestAggregatorLatency runs the latency acceptance cases through the
// aggregator: reservoirs, histograms and the summary's verdicts.
func TestAggregatorLatency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		n      int
		factor float64
		want   string
	}{
		{name: "10% slower at n=2000", n: 2000, factor: 1.1, want: LatencyRegression},
		{name: "identical at n=2000", n: 2000, factor: 1, want: LatencyOK},
		{name: "n=10", n: 10, factor: 1.1, want: LatencyInconclusive},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			ms := func(median, factor float64) time.Duration {
				return time.Duration(lognormal(rng, 1, median, factor)[0] * float64(time.Millisecond))
			}
			a := NewAggregator(AggregatorConfig{})
			for range tt.n {
				a.Add(&Exchange{Request: Request{Method: "GET", URI: "/a"},
					Legacy: &Response{Status: 200, Total: ms(50, 1)}, Candidate: &Response{Status: 200, Total: ms(50, tt.factor)}})
			}
			s := a.Summary("replay")
			if got := s.Endpoints[0].LatencyVerdict.Status; got != tt.want {
				t.Errorf("endpoint latency = %q, want %q (%+v)", got, tt.want, s.Endpoints[0].LatencyVerdict)
			}
			if got := s.LatencyVerdict.Status; got != tt.want {
				t.Errorf("overall latency = %q, want %q", got, tt.want)
			}
			if wantFail := tt.want == LatencyRegression; (s.Verdict == VerdictFail) != wantFail {
				t.Errorf("verdict = %q with latency %q", s.Verdict, tt.want)
			}
		})
	}
}

// A p-value so small it is subnormal rounds to itself, not NaN (which the
// summary JSON cannot carry: a mirror's /window answered an empty body).
func TestRoundSignificantSubnormal(t *testing.T) {
	t.Parallel()
	for _, x := range []float64{5e-324, 1e-320, 0} {
		if got := roundSignificant(x, 3); math.IsNaN(got) || got != x {
			t.Errorf("roundSignificant(%g) = %g, want %g", x, got, x)
		}
	}
}
