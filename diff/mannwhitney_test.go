package diff

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMannWhitneyKnownValues(t *testing.T) {
	t.Parallel()
	seq := func(from, to float64) []float64 {
		var s []float64
		for v := from; v <= to; v++ {
			s = append(s, v)
		}
		return s
	}
	tests := []struct {
		name string
		x, y []float64
		want MannWhitney
	}{
		{
			// R: wilcox.test(11:20, 1:10, exact=FALSE) gives W = 100,
			// p-value = 0.0001827. The interval is Moses' order
			// statistics: C = floor(50 - 1.96·13.23) = 24th and 77th of
			// the 100 differences.
			name: "separated",
			x:    seq(1, 10), y: seq(11, 20),
			want: MannWhitney{NX: 10, NY: 10, U: 100, Z: 3.7418, P: 0.0001827, Shift: 10, ShiftLow: 7, ShiftHigh: 13, Confidence: 0.95},
		},
		{
			name: "identical",
			x:    []float64{5, 5, 5}, y: []float64{5, 5, 5},
			want: MannWhitney{NX: 3, NY: 3, U: 4.5, P: 1, Confidence: 0.95},
		},
		{
			name: "empty",
			x:    nil, y: []float64{1},
			want: MannWhitney{NY: 1, P: 1, Confidence: 0.95},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := MannWhitneyTest(tt.x, tt.y, 0.95)
			opt := cmpopts.EquateApprox(1e-3, 1e-4)
			if diff := cmp.Diff(tt.want, got, opt); diff != "" {
				t.Errorf("MannWhitneyTest (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMannWhitneyBruteForce checks U and the order statistics of the
// differences against their definitions, with many ties.
func TestMannWhitneyBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 50 {
		x := make([]float64, 1+rng.IntN(40))
		y := make([]float64, 1+rng.IntN(40))
		for i := range x {
			x[i] = float64(rng.IntN(20)) / 4
		}
		for i := range y {
			y[i] = float64(rng.IntN(20))/4 + 0.5
		}
		var u float64
		var diffs []float64
		for _, a := range x {
			for _, b := range y {
				switch {
				case b > a:
					u++
				case b == a:
					u += 0.5
				}
				diffs = append(diffs, b-a)
			}
		}
		slices.Sort(diffs)
		xs, ys := slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y))
		got := MannWhitneyTest(x, y, 0.9)
		if got.U != u {
			t.Errorf("trial %d: U = %v, want %v", trial, got.U, u)
		}
		for _, k := range []int{1, len(diffs) / 3, len(diffs)/2 + 1, len(diffs)} {
			if k == 0 {
				continue
			}
			if g := kthDifference(xs, ys, int64(k)); g != diffs[k-1] {
				t.Errorf("trial %d: kthDifference(%d) = %v, want %v", trial, k, g, diffs[k-1])
			}
		}
		m := len(diffs)
		median := diffs[m/2]
		if m%2 == 0 {
			median = (diffs[m/2-1] + diffs[m/2]) / 2
		}
		if got.Shift != median {
			t.Errorf("trial %d: Shift = %v, want median %v", trial, got.Shift, median)
		}
		if !(got.ShiftLow <= got.Shift && got.Shift <= got.ShiftHigh) {
			t.Errorf("trial %d: interval [%v, %v] does not hold %v", trial, got.ShiftLow, got.ShiftHigh, got.Shift)
		}
		if math.IsNaN(got.P) || got.P < 0 || got.P > 1 {
			t.Errorf("trial %d: P = %v", trial, got.P)
		}
	}
}

func BenchmarkMannWhitney2000(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := make([]float64, 2000), make([]float64, 2000)
	for i := range x {
		x[i], y[i] = rng.ExpFloat64()*10, rng.ExpFloat64()*11
	}
	for b.Loop() {
		MannWhitneyTest(x, y, 0.95)
	}
}
