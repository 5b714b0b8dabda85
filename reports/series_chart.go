package reports

import (
	"fmt"
	"html/template"
	"math"
	"time"

	"github.com/cutover/cutover/diff"
)

// The time axis: per interval of the summary's series, the difference and
// server-error rates, p50 and p99 per side and the candidate's weight,
// with weight changes and rollout events marked across every panel.

// seriesLine is one drawn line of a panel.
type seriesLine struct {
	key, name, class string
	ys               []float64 // NaN: no value in that interval
}

type seriesPanel struct {
	title, unit string
	lines       []seriesLine
	fixedMax    float64 // 0: from the data
	logWhenWide bool
}

// marker is a vertical line at a time: a weight change or a rollout event.
type marker struct {
	at    time.Time
	label string
	class string
}

const (
	chartW      = 1000.0
	chartLeft   = 64.0
	chartRight  = 130.0 // room for the last values
	panelH      = 130.0
	panelGap    = 34.0
	chartTop    = 10.0
	chartBottom = 30.0
)

// seriesChart draws s; "" when there is nothing to draw.
func seriesChart(s *diff.Series, t *Timeline) template.HTML {
	if s == nil || len(s.Points) == 0 {
		return ""
	}
	n := len(s.Points)
	xs := make([]time.Time, n)
	rate := func(f func(p diff.SeriesPoint) (int64, int64)) []float64 {
		out := make([]float64, n)
		for i, p := range s.Points {
			a, b := f(p)
			out[i] = math.NaN()
			if b > 0 {
				out[i] = 100 * float64(a) / float64(b)
			}
		}
		return out
	}
	lat := func(f func(p diff.SeriesPoint) float64) []float64 {
		out := make([]float64, n)
		for i, p := range s.Points {
			out[i] = math.NaN()
			if p.Compared > 0 {
				out[i] = f(p)
			}
		}
		return out
	}
	weighted := false
	weights := make([]float64, n)
	var markers []marker
	for i, p := range s.Points {
		xs[i] = p.Start
		weights[i] = math.NaN()
		if p.Weight != nil {
			weighted = true
			weights[i] = *p.Weight
			if i > 0 && s.Points[i-1].Weight != nil && *s.Points[i-1].Weight != *p.Weight {
				markers = append(markers, marker{p.Start, fmt.Sprintf("weight %s%%", num(*p.Weight)), "mark-weight"})
			}
		}
	}
	if t != nil {
		for _, e := range t.Points {
			class := "mark-step"
			switch e.Event {
			case EventRollback:
				class = "mark-rollback"
			case EventPromote:
				class = "mark-promote"
			}
			markers = append(markers, marker{e.Time, fmt.Sprintf("%s %s%%", e.Event, num(e.Weight)), class})
		}
	}
	panels := []seriesPanel{
		// Server errors on their own axis: 5% of 502s must not be drawn
		// flat under a difference rate of 100%.
		{title: "server errors (5xx), % of compared exchanges", unit: "%", lines: []seriesLine{
			{"candidate-5xx", "candidate 5xx", "s-cand", rate(func(p diff.SeriesPoint) (int64, int64) { return p.Status5xx.Candidate, p.Compared })},
			{"legacy-5xx", "legacy 5xx", "s-leg", rate(func(p diff.SeriesPoint) (int64, int64) { return p.Status5xx.Legacy, p.Compared })},
		}},
		{title: "exchanges that differ, % of compared", unit: "%", lines: []seriesLine{
			{"different", "differ", "s-diff", rate(func(p diff.SeriesPoint) (int64, int64) { return p.Different, p.Compared })},
		}},
		{title: "answer time per interval, ms", unit: "ms", logWhenWide: true, lines: []seriesLine{
			{"candidate-p99", "candidate p99", "s-cand light", lat(func(p diff.SeriesPoint) float64 { return p.LatencyMs.Candidate.P99 })},
			{"legacy-p99", "legacy p99", "s-leg light", lat(func(p diff.SeriesPoint) float64 { return p.LatencyMs.Legacy.P99 })},
			{"candidate-p50", "candidate p50", "s-cand", lat(func(p diff.SeriesPoint) float64 { return p.LatencyMs.Candidate.P50 })},
			{"legacy-p50", "legacy p50", "s-leg", lat(func(p diff.SeriesPoint) float64 { return p.LatencyMs.Legacy.P50 })},
		}},
	}
	if weighted {
		panels = append(panels, seriesPanel{title: "candidate weight, % of live traffic", unit: "%", fixedMax: 100,
			lines: []seriesLine{{"weight", "weight", "s-cand", weights}}})
	}
	step := time.Duration(s.IntervalS * float64(time.Second))
	return drawSeries(xs, step, panels, markers)
}

func drawSeries(xs []time.Time, step time.Duration, panels []seriesPanel, markers []marker) template.HTML {
	h := chartTop + float64(len(panels))*(panelH+panelGap) + chartBottom
	svg := newSVG("the run over time", chartW, h)
	t0, t1 := xs[0], xs[len(xs)-1].Add(step)
	x := scale{lo: 0, hi: t1.Sub(t0).Seconds(), p0: chartLeft, p1: chartW - chartRight}
	xpx := func(t time.Time) float64 { return x.px(t.Sub(t0).Seconds()) }
	mid := func(i int) float64 { return xpx(xs[i].Add(step / 2)) }

	for pi, p := range panels {
		top := chartTop + float64(pi)*(panelH+panelGap) + 16
		bottom := top + panelH - 16
		lo, hi := math.Inf(1), 0.0
		for _, l := range p.lines {
			for _, v := range l.ys {
				if !math.IsNaN(v) {
					hi = math.Max(hi, v)
					if v > 0 {
						lo = math.Min(lo, v)
					}
				}
			}
		}
		y := scale{lo: 0, hi: math.Max(hi*1.1, 1), p0: bottom, p1: top}
		if p.fixedMax > 0 {
			y.hi = p.fixedMax
		}
		if p.logWhenWide && wide(lo, hi) {
			y = scale{lo: lo / 1.2, hi: hi * 1.2, p0: bottom, p1: top, log: true}
		}
		svg.text(chartLeft, top-6, "start", "ptitle", p.title+logNote(y))
		for _, v := range y.ticks() {
			py := y.px(v)
			svg.line(chartLeft, py, chartW-chartRight, py, "grid")
			svg.text(chartLeft-6, py+4, "end", "tick", num(v))
		}
		svg.line(chartLeft, bottom, chartW-chartRight, bottom, "axis")
		var labelYs []float64
		for _, l := range p.lines {
			var path []string
			for i, v := range l.ys {
				if math.IsNaN(v) {
					continue
				}
				cmd := "L"
				if len(path) == 0 || math.IsNaN(l.ys[i-1]) {
					cmd = "M"
				}
				path = append(path, fmt.Sprintf("%s%.1f %.1f", cmd, mid(i), y.px(v)))
			}
			if len(path) == 0 {
				continue
			}
			svg.raw(`<path class="sline %s" data-series="%s" d="%s"/>`, l.class, l.key, joinPath(path))
			last := -1
			for i, v := range l.ys {
				if math.IsNaN(v) {
					continue
				}
				last = i
				svg.raw(`<circle class="pt %s" r="2.2" cx="%.1f" cy="%.1f" data-series="%s" data-start="%s" data-value="%s"><title>%s %s: %s %s</title></circle>`,
					l.class, mid(i), y.px(v), l.key, xs[i].UTC().Format(time.RFC3339), num(v),
					esc(l.name), xs[i].UTC().Format("15:04:05"), num(v), p.unit)
			}
			if last >= 0 {
				ly := y.px(l.ys[last]) + 4
				for _, used := range labelYs {
					if math.Abs(used-ly) < 11 {
						ly = used + 11
					}
				}
				labelYs = append(labelYs, ly)
				svg.text(mid(last)+6, ly, "start", "lastval "+l.class, l.name+" "+num(l.ys[last]))
			}
		}
		for _, m := range markers {
			if m.at.Before(t0) || m.at.After(t1) {
				continue
			}
			mx := xpx(m.at)
			svg.raw(`<line class="marker %s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" data-at="%s"/>`,
				m.class, mx, top, mx, bottom, m.at.UTC().Format(time.RFC3339))
			if pi == 0 {
				svg.text(mx+3, top+10, "start", "mlabel "+m.class, m.label)
			}
		}
	}
	// Time ticks under the last panel.
	base := chartTop + float64(len(panels))*(panelH+panelGap) - panelGap
	every := max(1, len(xs)/6)
	for i := 0; i < len(xs); i += every {
		px := xpx(xs[i])
		svg.line(px, base, px, base+4, "axis")
		svg.text(px, base+16, "middle", "tick", xs[i].UTC().Format("15:04:05"))
	}
	svg.text(chartW-chartRight, base+28, "end", "tick", fmt.Sprintf("UTC, one point per %s", step))
	return svg.html()
}

func logNote(y scale) string {
	if y.log {
		return " (log scale)"
	}
	return ""
}

func joinPath(p []string) string {
	out := ""
	for i, s := range p {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
