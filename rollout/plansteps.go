package rollout

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// What a step does when its deadline passes.
const (
	OnTimeoutPause    = "pause"
	OnTimeoutRollback = "rollback"
)

const defaultRecentIntervals = 2

// defaultMaxDuration is a step's deadline when the plan names none: long
// enough for a step slowed by thin traffic, short enough that nobody
// waits for a hung one.
func defaultMaxDuration(hold, interval time.Duration) time.Duration {
	return 3*hold + 20*interval
}

// Ratio is a share written as a fraction (0.005) or a percentage ("0.5%").
type Ratio float64

// UnmarshalYAML takes `0.005` or `0.5%`.
func (r *Ratio) UnmarshalYAML(n *yaml.Node) error {
	v := strings.TrimSpace(n.Value)
	scale := 1.0
	if s, ok := strings.CutSuffix(v, "%"); ok {
		v, scale = strings.TrimSpace(s), 0.01
	}
	f, err := strconv.ParseFloat(v, 64)
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("plan line %d: %q is not a share (write 0.005 or 0.5%%)", n.Line, n.Value)
	}
	*r = Ratio(f * scale)
	return nil
}

// completeSteps fills in and checks what the plan-wide defaults give each
// step: the deadline, what happens at it, and the step's gates (the plan's
// with the step's own laid over them).
func (p *Plan) completeSteps(at func(string) string) error {
	if p.OnTimeout == "" {
		p.OnTimeout = OnTimeoutPause
	}
	if p.RecentIntervals == 0 {
		p.RecentIntervals = defaultRecentIntervals
	}
	switch {
	case p.OnTimeout != OnTimeoutPause && p.OnTimeout != OnTimeoutRollback:
		return fmt.Errorf("%s: on_timeout must be pause or rollback, not %q", at("on_timeout"), p.OnTimeout)
	case p.MaxDuration < 0:
		return fmt.Errorf("%s: max_duration must not be negative", at("max_duration"))
	case p.RecentIntervals < 1:
		return fmt.Errorf("%s: recent_intervals must be at least 1", at("recent_intervals"))
	case p.Quorum < 0:
		return fmt.Errorf("%s: quorum must not be negative", at("quorum"))
	}
	if err := completeGates(&p.Gates); err != nil {
		return fmt.Errorf("%s: %w", at("gates"), err)
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		where := fmt.Sprintf("plan line %d", s.line)
		if s.MaxDuration == 0 {
			s.MaxDuration = p.MaxDuration
		}
		if s.MaxDuration == 0 {
			s.MaxDuration = defaultMaxDuration(s.Hold, p.Interval)
		}
		if s.OnTimeout == "" {
			s.OnTimeout = p.OnTimeout
		}
		switch {
		case s.MaxDuration < s.Hold+p.Interval:
			return fmt.Errorf("%s: max_duration %s must be at least the hold and one interval (%s)", where, s.MaxDuration, s.Hold+p.Interval)
		case s.OnTimeout != OnTimeoutPause && s.OnTimeout != OnTimeoutRollback:
			return fmt.Errorf("%s: on_timeout must be pause or rollback, not %q", where, s.OnTimeout)
		}
		s.Gates = p.Gates
		if s.gatesNode != nil {
			if err := s.gatesNode.Decode(&s.Gates); err != nil {
				return fmt.Errorf("%s: gates: %s", where, strings.TrimPrefix(err.Error(), "yaml: "))
			}
			if err := completeGates(&s.Gates); err != nil {
				return fmt.Errorf("%s: gates: %w", where, err)
			}
		}
	}
	return nil
}

// completeGates fills in the gates' defaults and checks them.
func completeGates(g *Gates) error {
	if g.ErrorRate.MaxRatio == 0 {
		g.ErrorRate.MaxRatio = 1.2
	}
	d := &g.Differences
	if d.MaxRate == 0 {
		d.MaxRate = 0.01
	}
	if d.MaxEndpointRate == 0 {
		d.MaxEndpointRate = 0.05
	}
	if d.MinCompared == 0 {
		d.MinCompared = 100
	}
	t := &g.Latency.Tail
	if t.Quantile == 0 {
		t.Quantile = 0.99
	}
	switch {
	case g.ErrorRate.MaxRatio < 1:
		return fmt.Errorf("error_rate.max_ratio must be at least 1")
	case g.ErrorRate.Max < 0 || g.ErrorRate.Max >= 1:
		return fmt.Errorf("error_rate.max must be in [0, 100%%)")
	case d.MaxRate < 0 || d.MaxRate >= 1 || d.MaxEndpointRate < 0 || d.MaxEndpointRate >= 1 || d.MinCompared < 0:
		return fmt.Errorf("differences rates must be in [0, 1) and min_compared not negative")
	case t.Quantile < 0.5 || t.Quantile >= 1:
		return fmt.Errorf("latency.tail.quantile must be in [0.5, 1), not %g", t.Quantile)
	case g.Latency.MaxShift < 0 || t.MaxShift < 0 || g.Latency.MaxP99 < 0:
		return fmt.Errorf("latency durations must not be negative")
	}
	return nil
}
