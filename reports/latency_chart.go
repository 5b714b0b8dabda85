package reports

import (
	"html/template"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/cutover/cutover/diff"
)

// percentileX places a percentile on the curve chart's x axis: the number
// of nines, so p90, p99 and p99.9 are evenly spaced and the tail, where
// proxies differ, gets the room.
func percentileX(p float64) float64 { return -math.Log10(1 - p/100) }

// latencyCurveChart draws both sides' percentile curves on one chart; ""
// when the summary carries no curve (nothing compared, or an older file).
func latencyCurveChart(l diff.SideLatency) (template.HTML, error) {
	if len(l.Legacy.Curve) == 0 && len(l.Candidate.Curve) == 0 {
		return "", nil
	}
	p := newPlot("answer time by percentile, all compared exchanges", "percentile", "ms")
	var ticks []plot.Tick
	for _, t := range []struct {
		p     float64
		label string
	}{{0, "p0"}, {50, "p50"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"}} {
		ticks = append(ticks, plot.Tick{Value: percentileX(t.p), Label: t.label})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min = 0
	p.Legend.Left = true
	for _, side := range []struct {
		name  string
		curve []diff.CurvePoint
		color uint32
	}{{"legacy", l.Legacy.Curve, legacyColor}, {"candidate", l.Candidate.Curve, candidateColor}} {
		if len(side.curve) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(side.curve))
		for i, pt := range side.curve {
			xys[i] = plotter.XY{X: percentileX(pt.Percentile), Y: pt.Ms}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return "", err
		}
		line.Color, line.Width = rgb(side.color), vg.Points(2)
		points.Color, points.Radius = rgb(side.color), vg.Points(2)
		p.Add(line, points)
		p.Legend.Add(side.name, line)
	}
	return svgOf(p, 16*vg.Centimeter, 9*vg.Centimeter)
}

// barEndpoints bounds the endpoints of the per-endpoint latency chart.
const barEndpoints = 15

// endpointLatencyChart draws p50 and p99 per side as horizontal bars for
// the first endpoints in eps (ranked) that were compared.
func endpointLatencyChart(eps []rankedEndpoint) (template.HTML, error) {
	var names []string
	var lp50, cp50, lp99, cp99 plotter.Values
	for _, e := range eps {
		if len(names) == barEndpoints {
			break
		}
		if e.Compared == 0 {
			continue
		}
		// Nominal axes list from the bottom up: prepend to read top down.
		names = append([]string{shorten(e.Endpoint, 40)}, names...)
		l, c := e.LatencyMs.Legacy, e.LatencyMs.Candidate
		lp50, cp50 = append(plotter.Values{l.P50}, lp50...), append(plotter.Values{c.P50}, cp50...)
		lp99, cp99 = append(plotter.Values{l.P99}, lp99...), append(plotter.Values{c.P99}, cp99...)
	}
	if len(names) == 0 {
		return "", nil
	}
	// No legend in the chart, where it would cover bars: the page has one.
	p := newPlot("p50 and p99 per endpoint, most severe first", "ms", "")
	const barWidth = 5
	series := []struct {
		values plotter.Values
		color  uint32
	}{{lp50, legacyColor}, {cp50, candidateColor}, {lp99, lightLegacy}, {cp99, lightCandidate}}
	for i, s := range series {
		bars, err := plotter.NewBarChart(s.values, vg.Points(barWidth))
		if err != nil {
			return "", err
		}
		bars.Horizontal = true
		bars.Color = rgb(s.color)
		bars.LineStyle.Width = 0
		bars.Offset = vg.Points(float64(barWidth) * (1.5 - float64(i)))
		p.Add(bars)
	}
	p.NominalY(names...)
	p.X.Min = 0
	height := vg.Points(float64(60 + 28*len(names)))
	return svgOf(p, 16*vg.Centimeter, height)
}

// shorten cuts s to n runes with an ellipsis, for chart labels; the tables
// show names whole.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
