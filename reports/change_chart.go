package reports

import (
	"fmt"
	"html/template"
	"math"

	"github.com/cutover/cutover/diff"
)

// changeEndpoints bounds the endpoints of the per-endpoint latency charts.
const changeEndpoints = 15

// changeChart draws, per endpoint, the median's change (candidate minus
// legacy) as a dot with its interval, against the endpoint's tolerance
// band, with the figures written beside it. The axis is a signed log one
// when the changes span more than a factor of 20, so that a 2 ms change
// stays visible next to a 100 ms one.
func changeChart(eps []rankedEndpoint) template.HTML {
	type row struct {
		name        string
		c           diff.Change
		tol         float64
		status, cls string
	}
	var rows []row
	lo, hi, small := 0.0, 0.0, math.Inf(1)
	for _, e := range eps {
		c := e.LatencyVerdict.P50Change
		if c == nil || len(rows) == changeEndpoints {
			continue
		}
		r := row{name: shorten(e.Endpoint, 34), c: *c, tol: e.LatencyVerdict.ToleranceMs, status: e.LatencyVerdict.Status, cls: "ok"}
		if e.regression {
			r.cls = "bad"
		}
		rows = append(rows, r)
		lo = math.Min(lo, math.Min(c.LowMs, -r.tol))
		hi = math.Max(hi, math.Max(c.HighMs, r.tol))
		for _, v := range []float64{c.Ms, c.LowMs, c.HighMs, r.tol} {
			if v != 0 {
				small = math.Min(small, math.Abs(v))
			}
		}
	}
	if len(rows) == 0 {
		return ""
	}
	const left, right, rowH, top = 230.0, 210.0, 26.0, 28.0
	h := top + rowH*float64(len(rows)) + 34
	svg := newSVG("median change per endpoint against its tolerance", chartW, h)
	big := math.Max(-lo, hi)
	x := scale{lo: -big * 1.1, hi: big * 1.1, p0: left, p1: chartW - right}
	if small < math.Inf(1) && big/small > 20 {
		x.symlog, x.linthres = true, math.Max(small/2, 0.001)
	}
	svg.text(left, 14, "start", "ptitle", "median (p50) change, candidate − legacy, ms"+symNote(x))
	for _, v := range x.ticks() {
		px := x.px(v)
		svg.line(px, top-6, px, h-30, "grid")
		svg.text(px, h-16, "middle", "tick", signedMs(v))
	}
	zero := x.px(0)
	svg.line(zero, top-6, zero, h-30, "axis")
	for i, r := range rows {
		cy := top + rowH*float64(i) + rowH/2
		svg.text(left-8, cy+4, "end", "label", r.name)
		svg.raw(`<rect class="band" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>tolerance ±%s ms</title></rect>`,
			x.px(-r.tol), cy-8, x.px(r.tol)-x.px(-r.tol), 16.0, ms3(r.tol))
		svg.line(x.px(r.c.LowMs), cy, x.px(r.c.HighMs), cy, "whisker "+r.cls)
		svg.raw(`<circle class="dot %s" r="4" cx="%.1f" cy="%.1f" data-endpoint="%s" data-change="%s" data-low="%s" data-high="%s" data-tolerance="%s"/>`,
			r.cls, x.px(r.c.Ms), cy, esc(r.name), num(r.c.Ms), num(r.c.LowMs), num(r.c.HighMs), num(r.tol))
		svg.text(chartW-right+8, cy+4, "start", "value "+r.cls,
			fmt.Sprintf("%s ms [%s, %s] · tol ±%s", signedMs(r.c.Ms), signedMs(r.c.LowMs), signedMs(r.c.HighMs), ms3(r.tol)))
	}
	return svg.html()
}

func symNote(x scale) string {
	if x.symlog {
		return " (log scale either side of 0)"
	}
	return ""
}

// barsChart draws p50 and p99 per side as bars side by side, each with its
// value written at its end; a log axis when the values span more than a
// factor of 20.
func barsChart(eps []rankedEndpoint) template.HTML {
	var shown []rankedEndpoint
	lo, hi := math.Inf(1), 0.0
	for _, e := range eps {
		if e.Compared == 0 || len(shown) == changeEndpoints {
			continue
		}
		shown = append(shown, e)
		for _, v := range []float64{e.LatencyMs.Legacy.P50, e.LatencyMs.Candidate.P50, e.LatencyMs.Legacy.P99, e.LatencyMs.Candidate.P99} {
			hi = math.Max(hi, v)
			if v > 0 {
				lo = math.Min(lo, v)
			}
		}
	}
	if len(shown) == 0 || hi == 0 {
		return ""
	}
	const left, right, barH, gap, top = 230.0, 70.0, 9.0, 12.0, 28.0
	groupH := 4*barH + gap
	h := top + groupH*float64(len(shown)) + 30
	svg := newSVG("p50 and p99 per endpoint", chartW, h)
	x := scale{lo: 0, hi: hi * 1.05, p0: left, p1: chartW - right}
	if wide(lo, hi) {
		x = scale{lo: lo / 2, hi: hi * 1.2, p0: left, p1: chartW - right, log: true}
	}
	svg.text(left, 14, "start", "ptitle", "answer time per endpoint, ms"+logNote(x))
	for _, v := range x.ticks() {
		px := x.px(v)
		svg.line(px, top-6, px, h-26, "grid")
		svg.text(px, h-12, "middle", "tick", num(v))
	}
	for i, e := range shown {
		y0 := top + groupH*float64(i)
		svg.text(left-8, y0+2*barH+4, "end", "label", shorten(e.Endpoint, 34))
		for j, b := range []struct {
			name, class string
			v           float64
		}{
			{"legacy p50", "s-leg", e.LatencyMs.Legacy.P50}, {"candidate p50", "s-cand", e.LatencyMs.Candidate.P50},
			{"legacy p99", "s-leg light", e.LatencyMs.Legacy.P99}, {"candidate p99", "s-cand light", e.LatencyMs.Candidate.P99},
		} {
			y := y0 + barH*float64(j)
			w := math.Max(x.px(b.v)-left, 1)
			svg.raw(`<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" data-endpoint="%s" data-bar="%s" data-value="%s"><title>%s %s ms</title></rect>`,
				b.class, left, y, w, barH-1, esc(e.Endpoint), b.name, num(b.v), b.name, num(b.v))
			svg.text(left+w+4, y+barH-1.5, "start", "barval", num(b.v))
		}
	}
	return svg.html()
}
