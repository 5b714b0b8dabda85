package reports

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/cutover/cutover/diff"
)

//go:embed templates/report.html.tmpl
var templates embed.FS

// HTMLOptions are what the HTML report shows besides the summary.
type HTMLOptions struct {
	// Title heads the page ["cutover report"].
	Title string
	// Generated is when the report was made; zero leaves it out (tests).
	Generated time.Time
	// Timeline, when not nil, adds the rollout's weight over time.
	Timeline *Timeline
	// Rollout, when not nil, puts the rollout's state and step in the
	// scorecard.
	Rollout *RolloutState
	// Refresh, when positive, makes the page reload itself that often
	// (a meta refresh: no script), for a live page such as GET /report.
	Refresh time.Duration
}

// The HTML report's bounds, so that its size does not grow with traffic:
// the summary's samples are already bounded, these bound what is shown
// of them. What is left out stays in the summary JSON, and the page says so.
const (
	htmlEndpoints        = 200 // endpoints listed, most severe first
	htmlFields           = 20  // fields per endpoint
	htmlExamplesPerField = 2
	htmlExamples         = 200 // examples in the whole report
	htmlFailures         = 3   // transport failure samples per endpoint
)

// HTML writes the report as one self-contained page: no script, no request
// of any kind (its Content-Security-Policy forbids both), charts as inline
// SVG. Everything from traffic goes through html/template's escaping.
func HTML(w io.Writer, s *diff.Summary, opt HTMLOptions) error {
	t, err := template.New("report.html.tmpl").Funcs(template.FuncMap{
		"ms":     func(v float64) string { return fmt.Sprintf("%.3g", v) },
		"pct":    pct,
		"upper":  strings.ToUpper,
		"cellOf": func(c cell, side string) sideCell { return sideCell{C: c, Side: side} },
	}).ParseFS(templates, "templates/report.html.tmpl")
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	v, err := newHTMLView(s, opt)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	bw := bufio.NewWriter(w)
	if err := t.Execute(bw, v); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// pct renders a share (0–1) as a percentage with sensible digits.
func pct(share float64) string {
	switch p := 100 * share; {
	case p == 0:
		return "0%"
	case p < 0.1:
		return "<0.1%"
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	default:
		return fmt.Sprintf("%.0f%%", p)
	}
}

// sideCell is a cell with its side, for the template.
type sideCell struct {
	C    cell
	Side string
}
