package diff

import (
	"encoding/json"
	"math"
	"testing"
)

// Two fully separated samples of 960 exchanges have a p-value of about
// 1e-315, a subnormal number: rounding it by scaling with 10^318 gave
// +Inf·x = NaN, and the summary could not be written.
func TestLatencyVerdictOfSeparatedSamplesIsFinite(t *testing.T) {
	t.Parallel()
	var legacy, candidate []float64
	for i := range 960 {
		legacy = append(legacy, 1+float64(i)/1000)
		candidate = append(candidate, 50+float64(i)/1000)
	}
	v := JudgeLatency(legacy, candidate, LatencyConfig{})
	if p := MannWhitneyTest(legacy, candidate, 0.95).P; p == 0 || p >= 2.3e-308 {
		t.Fatalf("p = %g: the case needs a subnormal p-value", p)
	}
	if math.IsNaN(v.PValue) || math.IsInf(v.PValue, 0) || v.Status != LatencyRegression {
		t.Errorf("verdict %+v: want a regression with a finite p-value", v)
	}
	s := Summary{Schema: SummarySchema, LatencyVerdict: v}
	if _, err := json.Marshal(s); err != nil {
		t.Errorf("summary does not encode: %v", err)
	}
}

func TestRoundSignificant(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ x, want float64 }{
		{0.012345, 0.0123}, {1e-300, 1e-300}, {4.9e-324, 4.9e-324}, {1.2345e-310, 1.23e-310}, {123456, 123000}, {0, 0},
	} {
		if got := roundSignificant(tt.x, 3); got != tt.want {
			t.Errorf("roundSignificant(%g, 3) = %g, want %g", tt.x, got, tt.want)
		}
	}
}

// Should a non-finite number reach a summary all the same, it is written
// as 0 and named by NonFinite, and the summary is not lost.
func TestSummaryWithANonFiniteNumberStillEncodes(t *testing.T) {
	t.Parallel()
	s := Summary{Schema: SummarySchema, Verdict: VerdictPass, LatencyMs: SideLatency{Legacy: Percentiles{P50: math.NaN()}},
		Endpoints: []EndpointSummary{{Fields: []FieldSummary{{Rate: math.Inf(1)}}}}}
	if got := s.NonFinite(); got != "summary.endpoints[].fields[].rate" {
		t.Errorf("NonFinite = %q", got)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSummary(b)
	if err != nil || back.LatencyMs.Legacy.P50 != 0 || back.Endpoints[0].Fields[0].Rate != 0 {
		t.Errorf("round trip: %v, %+v", err, back)
	}
	if !math.IsNaN(s.LatencyMs.Legacy.P50) || !math.IsInf(s.Endpoints[0].Fields[0].Rate, 1) {
		t.Error("encoding changed the caller's summary")
	}
}
