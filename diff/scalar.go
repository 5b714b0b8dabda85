package diff

import (
	"math"
	"net/http"
	"time"
)

// toleranceFor returns the first tolerance rule that covers path.
func (c *Comparer) toleranceFor(path string) (Tolerance, bool) {
	for _, t := range c.tolerance {
		if globMatch(t.Path, path, true) {
			return t, true
		}
	}
	return Tolerance{}, false
}

// within reports whether x and y are equal under t. The relative bound is
// taken from the larger magnitude so that the test is symmetric.
func within(t Tolerance, x, y float64) bool {
	d := math.Abs(x - y)
	return d <= t.Absolute || d <= t.Relative*math.Max(math.Abs(x), math.Abs(y))
}

// timesEqual reports whether a and b are times no further apart than the
// first time-skew rule covering path allows.
func (c *Comparer) timesEqual(path, a, b string) bool {
	for _, s := range c.skew {
		if !globMatch(s.Path, path, true) {
			continue
		}
		ta, oka := parseTime(a)
		tb, okb := parseTime(b)
		if !oka || !okb {
			return false
		}
		d := ta.Sub(tb)
		return -s.Skew <= d && d <= s.Skew
	}
	return false
}

// parseTime reads an RFC 3339 time (as JSON APIs write them) or an HTTP
// date (as headers carry them).
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := http.ParseTime(s); err == nil {
		return t, true
	}
	return time.Time{}, false
}
