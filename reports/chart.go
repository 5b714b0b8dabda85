package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts are drawn by gonum/plot into inline SVG. Its SVG canvas names
// fonts without embedding or fetching them (the browser uses a local one)
// and escapes every text it draws, so labels from traffic stay text.

// The colours, as 0xRRGGBB: the sides' are the same in every chart and in
// the page's CSS.
const (
	legacyColor    = 0x1f6fb4
	candidateColor = 0xe06c00
	lightLegacy    = 0x9ec5e8
	lightCandidate = 0xf5c08a
	passColor      = 0x1a7f37
	failColor      = 0xc62828
)

func rgb(hex uint32) color.RGBA {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// newPlot returns a plot in the report's style, its text in Liberation Sans
// (see svgOf for why).
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	sans := func(size float64) font.Font {
		return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	}
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(12)
	p.Legend.TextStyle.Font = sans(10)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(11)
		a.Tick.Label.Font = sans(9)
	}
	p.X.Label.Text = x
	p.Y.Label.Text = y
	grid := plotter.NewGrid()
	grid.Vertical.Color = rgb(0xe0e0e0)
	grid.Horizontal.Color = rgb(0xe0e0e0)
	p.Add(grid)
	p.Legend.Top = true
	return p
}

// svgOf draws p at w×h points and returns the <svg> element for inline
// use: the XML prologue is cut, the size comes from the page's CSS.
//
// The result is template.HTML because it is markup; vgsvg has escaped the
// text in it (see the package comment above).
func svgOf(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("draw chart: %w", err)
	}
	out := b.String()
	i := strings.Index(out, "<svg")
	if i < 0 {
		return "", fmt.Errorf("draw chart: no <svg> element in the canvas output")
	}
	// gonum lays text out with Liberation Sans' metrics; Arial and
	// Helvetica share them, so the labels fit where that font is missing.
	out = strings.ReplaceAll(out, "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	out = `<svg class="chart" role="img" aria-label="` + template.HTMLEscapeString(p.Title.Text) + `"` + out[i+len("<svg"):]
	return template.HTML(out), nil // #nosec: vgsvg escapes every text node
}
