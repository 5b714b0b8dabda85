package reports

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// The page's own charts are drawn here as inline SVG: their text is the
// page's font (it inherits the CSS), every label is escaped, values are
// written on the chart, and each drawn figure carries its value in data-*
// attributes so that tests (and people with a DOM inspector) can read it.

// svgBuilder writes one <svg> element.
type svgBuilder struct {
	b    strings.Builder
	w, h float64
}

func newSVG(label string, w, h float64) *svgBuilder {
	s := &svgBuilder{w: w, h: h}
	fmt.Fprintf(&s.b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %g %g" width="%g" height="%g">`,
		esc(label), w, h, w, h)
	return s
}

func (s *svgBuilder) raw(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// text draws escaped text; anchor is start, middle or end.
func (s *svgBuilder) text(x, y float64, anchor, class, text string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" class="%s">%s</text>`, x, y, anchor, class, esc(text))
}

func (s *svgBuilder) line(x1, y1, x2, y2 float64, class string) {
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" class="%s"/>`, x1, y1, x2, y2, class)
}

func (s *svgBuilder) html() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String()) // #nosec: every text and attribute above is escaped
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// scale maps values to pixels, linearly or on a log axis.
type scale struct {
	lo, hi   float64 // data range
	p0, p1   float64 // pixel range
	log      bool
	symlog   bool    // sign-preserving log for changes around zero
	linthres float64 // symlog: linear below this magnitude
}

func (s scale) f(v float64) float64 {
	switch {
	case s.symlog:
		return math.Copysign(math.Log10(1+math.Abs(v)/s.linthres), v)
	case s.log:
		return math.Log10(math.Max(v, s.lo))
	}
	return v
}

func (s scale) px(v float64) float64 {
	a, b := s.f(s.lo), s.f(s.hi)
	if b == a {
		return (s.p0 + s.p1) / 2
	}
	t := (s.f(math.Min(math.Max(v, s.lo), s.hi)) - a) / (b - a)
	return s.p0 + t*(s.p1-s.p0)
}

// ticks returns the values to label.
func (s scale) ticks() []float64 {
	switch {
	case s.symlog:
		out := []float64{0}
		for d := s.linthres; d <= math.Max(-s.lo, s.hi)*1.0001; d *= 10 {
			if d <= s.hi {
				out = append(out, d)
			}
			if -d >= s.lo {
				out = append([]float64{-d}, out...)
			}
		}
		return out
	case s.log:
		var out []float64
		for d := math.Pow(10, math.Floor(math.Log10(s.lo))); d <= s.hi*1.0001; d *= 10 {
			for _, m := range []float64{1, 2, 5} {
				if v := d * m; v >= s.lo*0.9999 && v <= s.hi*1.0001 {
					out = append(out, v)
				}
			}
		}
		return out
	}
	step := niceStep((s.hi - s.lo) / 4)
	var out []float64
	for v := math.Ceil(s.lo/step) * step; v <= s.hi+step/1e6; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// wide says whether positive values span enough to need a log axis.
func wide(lo, hi float64) bool { return lo > 0 && hi/lo > 20 }

// num renders a value for a label: three significant digits.
func num(v float64) string {
	if v == 0 {
		return "0"
	}
	if math.Abs(v) >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
