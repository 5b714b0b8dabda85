package testbed

import (
	"testing"
	"time"
)

func TestDrawDelay(t *testing.T) {
	t.Parallel()
	points := []LatencyPoint{{Quantile: 0.99, Add: Duration(100 * time.Millisecond)}, {Quantile: 0.5, Add: Duration(20 * time.Millisecond)}}
	tests := []struct {
		u    float64
		want time.Duration
	}{
		{0, 0},
		{0.25, 10 * time.Millisecond},
		{0.5, 20 * time.Millisecond},
		{0.99, 100 * time.Millisecond},
		{0.999, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := drawDelay(points, tt.u); (got - tt.want).Abs() > time.Microsecond {
			t.Errorf("drawDelay(u=%g) = %v, want %v", tt.u, got, tt.want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		want   bool
	}{
		{"gzip", true},
		{"br, gzip;q=0.8", true},
		{"GZIP", true},
		{"gzip;q=0", false},
		{"deflate, br", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := acceptsGzip([]string{tt.header}); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestHitSpreadsShareExactly(t *testing.T) {
	t.Parallel()
	for _, rate := range []float64{0, 0.05, 0.25, 1.0 / 3, 1} {
		var acc float64
		hits := 0
		for range 300 {
			if hit(&acc, rate) {
				hits++
			}
		}
		if want := int(300 * rate); hits != want {
			t.Errorf("rate %g: %d hits in 300, want %d", rate, hits, want)
		}
	}
}

func TestRulesParse(t *testing.T) {
	t.Parallel()
	if r := Rules(); len(r.Ignore) == 0 {
		t.Errorf("test bed rules ignore nothing: %+v", r)
	}
}
