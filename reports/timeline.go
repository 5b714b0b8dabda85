package reports

import (
	"html/template"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Timeline is what a rollout did, as the HTML report draws it: the weight
// over time and each step's gates. The rollout journal fills it; reports
// only render it.
type Timeline struct {
	Points []TimelinePoint
}

// TimelinePoint is one event of a rollout: the weight (percent of live
// traffic the candidate serves) from Time on, what happened and why, and
// the gates judged at that point.
type TimelinePoint struct {
	Time   time.Time
	Weight float64
	// Event is the journal's name for what happened: "step", "hold",
	// "promote", "rollback", ... Rollbacks and promotions are marked.
	Event  string
	Reason string
	Gates  []Gate
	// Status is the rollout's state after the event ("progressing",
	// "rolled_back", ...), Step its step number.
	Status string
	Step   int
}

// Gate is one gate's figure at a point: e.g. Name "error rate", Figure
// "0.4%", Limit "≤ 1%".
type Gate struct {
	Name   string
	Figure string
	Limit  string
	Passed bool
}

// The events the timeline marks.
const (
	EventRollback = "rollback"
	EventPromote  = "promote"
)

// timelineChart draws the weight as a step line with rollbacks and
// promotions marked; "" when there are no points.
func timelineChart(t *Timeline) (template.HTML, error) {
	if t == nil || len(t.Points) == 0 {
		return "", nil
	}
	p := newPlot("candidate weight over time", "time (UTC)", "weight %")
	p.X.Tick.Marker = plot.TimeTicks{Format: "15:04:05", Time: func(s float64) time.Time {
		return time.Unix(int64(s), 0).UTC()
	}}
	p.Y.Min, p.Y.Max = 0, 100
	xys := make(plotter.XYs, len(t.Points))
	var rollbacks, promotions, gateFailures plotter.XYs
	for i, pt := range t.Points {
		xys[i] = plotter.XY{X: float64(pt.Time.Unix()), Y: pt.Weight}
		for _, g := range pt.Gates {
			if !g.Passed {
				gateFailures = append(gateFailures, xys[i])
				break
			}
		}
		switch pt.Event {
		case EventRollback:
			rollbacks = append(rollbacks, xys[i])
		case EventPromote:
			promotions = append(promotions, xys[i])
		}
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return "", err
	}
	line.StepStyle = plotter.PostStep
	line.Color, line.Width = rgb(candidateColor), vg.Points(2)
	p.Add(line)
	for _, m := range []struct {
		label string
		xys   plotter.XYs
		color uint32
		shape draw.GlyphDrawer
	}{
		{EventRollback, rollbacks, failColor, draw.TriangleGlyph{}},
		{EventPromote, promotions, passColor, draw.CircleGlyph{}},
		{"gate failed", gateFailures, failColor, draw.CrossGlyph{}},
	} {
		if len(m.xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(m.xys)
		if err != nil {
			return "", err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: rgb(m.color), Radius: vg.Points(5), Shape: m.shape}
		p.Add(s)
		p.Legend.Add(m.label, s)
	}
	return svgOf(p, 16*vg.Centimeter, 7*vg.Centimeter)
}
