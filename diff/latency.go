package diff

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// LatencyConfig says when the candidate is slower than the legacy. The zero
// value gives the defaults in brackets.
type LatencyConfig struct {
	// Alpha is the significance level of the Mann-Whitney test [0.05]; the
	// shift's interval has confidence 1 - Alpha.
	Alpha float64
	// RelativeTolerance is the share of the legacy median a shift must
	// exceed to count [0.05]; negative means none.
	RelativeTolerance float64
	// AbsoluteTolerance is the least shift that counts whatever the median
	// [1ms], so that sub-millisecond jitter on fast endpoints is not a
	// regression; negative means none. The tolerance is the larger of the two.
	AbsoluteTolerance time.Duration
	// MinSamples is the fewest exchanges per side to judge at all [30]:
	// below it the verdict is inconclusive, never ok.
	MinSamples int
}

func (c LatencyConfig) withDefaults() LatencyConfig {
	if c.Alpha <= 0 || c.Alpha >= 1 {
		c.Alpha = 0.05
	}
	c.RelativeTolerance = orDefault(c.RelativeTolerance, 0.05)
	switch {
	case c.AbsoluteTolerance == 0:
		c.AbsoluteTolerance = time.Millisecond
	case c.AbsoluteTolerance < 0:
		c.AbsoluteTolerance = 0
	}
	if c.MinSamples <= 0 {
		c.MinSamples = 30
	}
	return c
}

// orDefault maps a config number's zero to def and a negative to zero.
func orDefault(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// The latency statuses of an endpoint or of the whole run.
const (
	LatencyOK           = "ok"
	LatencyRegression   = "regression"
	LatencyInconclusive = "inconclusive"
	// LatencyNotComparable: the source cannot measure both sides alike
	// (the tap sees legacy on the wire and sends the candidate itself),
	// so latency is reported but not judged, now or with more samples.
	// A rollout's latency gates are then not applicable.
	LatencyNotComparable = "not_comparable"
)

// LatencyVerdict judges the candidate's answer times against the legacy's
// on the exchanges both answered. Times are in milliseconds; Shift and its
// interval are candidate minus legacy, so positive is slower.
type LatencyVerdict struct {
	Status string `json:"status"`
	// Samples is how many exchanges per side the test used: a uniform
	// sample of at most the aggregator's reservoir size.
	Samples int `json:"samples"`
	// MinSamples is the fewest per side the judge needed.
	MinSamples  int     `json:"min_samples"`
	ShiftMs     float64 `json:"shift_ms"`
	ShiftLowMs  float64 `json:"shift_low_ms"`
	ShiftHighMs float64 `json:"shift_high_ms"`
	Confidence  float64 `json:"confidence"`
	PValue      float64 `json:"p_value"`
	ToleranceMs float64 `json:"tolerance_ms"`
	// P50Ratio and P99Ratio are candidate over legacy, from the histograms
	// of every exchange; 0 when the legacy's is 0.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// P50Change and P99Change are candidate minus legacy at those
	// percentiles, with an interval of the test's confidence (change.go).
	P50Change *Change `json:"p50_change,omitempty"`
	P99Change *Change `json:"p99_change,omitempty"`
	Reason    string  `json:"reason"`
}

// JudgeLatency decides whether candidate (ms) is slower than legacy (ms),
// two samples of the same requests. A regression needs both a significant
// test (p < Alpha) and a shift whose lower confidence bound exceeds the
// tolerance: significance alone flags harmless shifts at large n, a shift
// alone flags noise at small n.
func JudgeLatency(legacy, candidate []float64, cfg LatencyConfig) LatencyVerdict {
	cfg = cfg.withDefaults()
	n := min(len(legacy), len(candidate))
	v := LatencyVerdict{Samples: n, MinSamples: cfg.MinSamples, Confidence: 1 - cfg.Alpha, PValue: 1}
	if n < cfg.MinSamples {
		v.Status = LatencyInconclusive
		v.Reason = fmt.Sprintf("%d exchanges per side, fewer than the %d needed", n, cfg.MinSamples)
		return v
	}
	mw := MannWhitneyTest(legacy, candidate, 1-cfg.Alpha)
	median := medianOf(legacy)
	tol := max(cfg.RelativeTolerance*median, float64(cfg.AbsoluteTolerance)/float64(time.Millisecond))
	v.ShiftMs, v.ShiftLowMs, v.ShiftHighMs = round3(mw.Shift), round3(mw.ShiftLow), round3(mw.ShiftHigh)
	v.PValue = roundSignificant(mw.P, 3)
	v.ToleranceMs = round3(tol)
	significant := mw.P < cfg.Alpha
	switch {
	case significant && mw.ShiftLow > tol:
		v.Status = LatencyRegression
		v.Reason = fmt.Sprintf("slower by %s ms (%.0f%% interval %s to %s ms, p=%.3g), over the %s ms tolerance",
			fmtMs(mw.Shift), 100*(1-cfg.Alpha), fmtMs(mw.ShiftLow), fmtMs(mw.ShiftHigh), mw.P, fmtMs(tol))
	case significant:
		v.Status = LatencyOK
		v.Reason = fmt.Sprintf("%s by %s ms (%.0f%% interval %s to %s ms), within the %s ms tolerance",
			slowerOrFaster(mw.Shift), fmtMs(math.Abs(mw.Shift)), 100*(1-cfg.Alpha), fmtMs(mw.ShiftLow), fmtMs(mw.ShiftHigh), fmtMs(tol))
	default:
		v.Status = LatencyOK
		v.Reason = fmt.Sprintf("no measurable change (%s ms, %.0f%% interval %s to %s ms; p=%.3g)",
			fmtMs(mw.Shift), 100*(1-cfg.Alpha), fmtMs(mw.ShiftLow), fmtMs(mw.ShiftHigh), mw.P)
	}
	return v
}

// medianOf returns the median of a non-empty sample without modifying it.
func medianOf(s []float64) float64 {
	c := slices.Clone(s)
	slices.Sort(c)
	m := len(c) / 2
	if len(c)%2 == 1 {
		return c[m]
	}
	return (c[m-1] + c[m]) / 2
}

// Latencies are recorded in microseconds up to this ceiling; longer ones
// count as the ceiling. Two significant digits keep a histogram near 25 KB.
const (
	histMaxMicros = int64(10 * time.Minute / time.Microsecond)
	histDigits    = 2
)

// latencyHist is the distribution of one side's answer times: an HDR
// histogram (1% precision) with the exact count, sum and maximum.
type latencyHist struct {
	h   *hdr.Histogram
	n   int64
	sum time.Duration
	max time.Duration
}

func newLatencyHist() *latencyHist {
	return &latencyHist{h: hdr.New(1, histMaxMicros, histDigits)}
}

func (l *latencyHist) record(d time.Duration) {
	us := min(max(int64(d/time.Microsecond), 1), histMaxMicros)
	_ = l.h.RecordValue(us) // cannot fail: us is clamped into range
	l.n++
	l.sum += d
	l.max = max(l.max, d)
}

// Percentiles is a latency distribution in milliseconds, as the summary
// JSON carries it.
type Percentiles struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	Count int64   `json:"count"`
	// Curve is the distribution from p0 to p99.9, for percentile charts.
	// Only the run's answer times carry it (see Summary.LatencyMs): one
	// per endpoint would grow the summary for no chart that shows it.
	Curve []CurvePoint `json:"curve,omitempty"`
	// Hist is the histogram itself (microseconds, HdrHistogram's
	// compressed V2 encoding in base64), so that summaries of several
	// sources merge into true percentiles (MergeSummaries), not averages.
	Hist string `json:"hist,omitempty"`
}

// CurvePoint is the latency (ms) at one percentile (0–100).
type CurvePoint struct {
	Percentile float64 `json:"p"`
	Ms         float64 `json:"ms"`
}

func (l *latencyHist) percentiles() Percentiles {
	if l.n == 0 {
		return Percentiles{}
	}
	// A histogram answers with the top of a value's bucket, which can lie
	// above the exact maximum: no percentile is shown above it.
	maxMs := round3(float64(l.max) / float64(time.Millisecond))
	ms := func(us int64) float64 { return min(round3(float64(us)/1000), maxMs) }
	return Percentiles{
		P50:   ms(l.h.ValueAtQuantile(50)),
		P90:   ms(l.h.ValueAtQuantile(90)),
		P99:   ms(l.h.ValueAtQuantile(99)),
		Max:   maxMs,
		Mean:  round3(float64(l.sum) / float64(l.n) / float64(time.Millisecond)),
		Count: l.n,
	}
}

// curve returns the distribution from p0 to p99.9, dense in the tail where
// proxies differ; nil when empty.
func (l *latencyHist) curve() []CurvePoint {
	if l.n == 0 {
		return nil
	}
	percentiles := [...]float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9}
	out := make([]CurvePoint, len(percentiles))
	for i, p := range percentiles {
		// ValueAtQuantile(0) is the histogram's lowest value, not zero.
		out[i] = CurvePoint{Percentile: p, Ms: min(round3(float64(l.h.ValueAtQuantile(p))/1000), round3(float64(l.max)/float64(time.Millisecond)))}
	}
	return out
}

// percentilesWithCurve is percentiles plus the curve.
func (l *latencyHist) percentilesWithCurve() Percentiles {
	p := l.percentiles()
	p.Curve = l.curve()
	return p
}

// pairReservoir keeps a uniform sample (Vitter's algorithm R) of at most
// size exchanges' legacy and candidate times in ms, for the Mann-Whitney
// test that needs values, not a histogram. Both sides take the same slot,
// so one random draw serves the pair. Values are float32 (0.1 µs precision
// up to 10 s) and the whole reservoir is allocated on first use: 8 bytes ×
// size, flat from then on.
type pairReservoir struct {
	legacy, candidate []float32
	seen              int64
	size              int
}

func (r *pairReservoir) add(rng *rand.Rand, legacy, candidate time.Duration) {
	l, c := float32(legacy.Seconds()*1000), float32(candidate.Seconds()*1000)
	r.seen++
	if r.legacy == nil {
		r.legacy, r.candidate = make([]float32, 0, r.size), make([]float32, 0, r.size)
	}
	if len(r.legacy) < r.size {
		r.legacy = append(r.legacy, l)
		r.candidate = append(r.candidate, c)
		return
	}
	if j := rng.Int64N(r.seen); j < int64(r.size) {
		r.legacy[j], r.candidate[j] = l, c
	}
}

// values returns copies of the sample as float64, for the test.
func (r *pairReservoir) values() (legacy, candidate []float64) {
	widen := func(s []float32) []float64 {
		out := make([]float64, len(s))
		for i, v := range s {
			out[i] = float64(v)
		}
		return out
	}
	return widen(r.legacy), widen(r.candidate)
}

// ratio returns a/b rounded, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*1e4) / 1e4
}

// round3 rounds to three decimals: microseconds when in ms. Rounding keeps
// the JSON stable across platforms that fuse multiply-adds differently.
func round3(x float64) float64 { return math.Round(x*1e3) / 1e3 }

// roundSignificant rounds x to digits significant digits. It goes through
// the decimal text: scaling by a power of ten overflows to +Inf for values
// under about 1e-305 (a p-value of two well-separated samples of a
// thousand exchanges is one) and gave NaN.
func roundSignificant(x float64, digits int) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', digits, 64), 64)
	if err != nil {
		return x
	}
	return r
}

func fmtMs(x float64) string { return fmt.Sprintf("%.3g", x) }
