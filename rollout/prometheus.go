package rollout

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// WindowPlaceholder in a Prometheus gate's query is replaced by the time
// the step's window has been open, as a PromQL duration (`37s`), so that
// `rate(x[$window])` covers the step and nothing before it.
const WindowPlaceholder = "$window"

// PrometheusGate is a plan's gate on a PromQL query, evaluated at each
// look: every series it returns must be at most Max (or at least Min). A
// query that returns nothing, NaN, or cannot be run is insufficient, never
// a pass. A DryRun gate is judged and journaled but decides nothing.
type PrometheusGate struct {
	line int

	Name  string   `yaml:"name"`
	Query string   `yaml:"query"`
	Max   *float64 `yaml:"max"`
	Min   *float64 `yaml:"min"`
	// DryRun records the verdict without acting on it.
	DryRun bool `yaml:"dry_run"`
	// URL of the Prometheus to ask [rollout run --prometheus].
	URL string `yaml:"url"`
}

// UnmarshalYAML refuses unknown keys and keeps the line for errors.
func (g *PrometheusGate) UnmarshalYAML(n *yaml.Node) error {
	g.line = n.Line
	if err := checkKeys(n, g); err != nil {
		return err
	}
	type plain PrometheusGate
	return n.Decode((*plain)(g))
}

// builtinGates are names a Prometheus gate may not take.
var builtinGates = []string{"error_rate", "latency", "differences", GateBackend, "mirrors"}

// completePrometheus validates the plan's Prometheus gates.
func (p *Plan) completePrometheus() error {
	seen := map[string]bool{}
	for i := range p.Gates.Prometheus {
		g := &p.Gates.Prometheus[i]
		where := fmt.Sprintf("plan line %d", g.line)
		switch {
		case strings.TrimSpace(g.Name) == "":
			return fmt.Errorf("%s: a prometheus gate needs a name", where)
		case slices.Contains(builtinGates, g.Name) || seen[g.Name]:
			return fmt.Errorf("%s: gate name %q is taken", where, g.Name)
		case strings.TrimSpace(g.Query) == "":
			return fmt.Errorf("%s: prometheus gate %q needs a query", where, g.Name)
		case (g.Max == nil) == (g.Min == nil):
			return fmt.Errorf("%s: prometheus gate %q needs one of max or min", where, g.Name)
		}
		if g.URL != "" {
			if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%s: prometheus gate %q: url %q is not an http(s) URL", where, g.Name, g.URL)
			}
		}
		seen[g.Name] = true
	}
	return nil
}

// Prometheus evaluates Prometheus gates through the HTTP API.
type Prometheus struct {
	// URL is the Prometheus of gates that name none ("" : such gates are
	// insufficient, see NeedsURL).
	URL string
	// Timeout bounds one query [10s].
	Timeout time.Duration

	mu   sync.Mutex
	apis map[string]promv1.API
}

// NeedsURL reports a gate of p that has no Prometheus to ask, for an
// error at start.
func (q *Prometheus) NeedsURL(p *Plan) error {
	for _, g := range p.Gates.Prometheus {
		if g.URL == "" && (q == nil || q.URL == "") {
			return fmt.Errorf("prometheus gate %q has no url: give rollout run --prometheus URL", g.Name)
		}
	}
	return nil
}

func (q *Prometheus) api(base string) (promv1.API, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if a, ok := q.apis[base]; ok {
		return a, nil
	}
	c, err := api.NewClient(api.Config{Address: base})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", base, err)
	}
	if q.apis == nil {
		q.apis = map[string]promv1.API{}
	}
	q.apis[base] = promv1.NewAPI(c)
	return q.apis[base], nil
}

// Judge evaluates gates at now over a step window open for window.
func (q *Prometheus) Judge(ctx context.Context, gates []PrometheusGate, window time.Duration, now time.Time) []GateResult {
	out := make([]GateResult, 0, len(gates))
	for _, g := range gates {
		out = append(out, q.judge(ctx, g, window, now))
	}
	return out
}

func (q *Prometheus) judge(ctx context.Context, g PrometheusGate, window time.Duration, now time.Time) GateResult {
	res := GateResult{Gate: g.Name, DryRun: g.DryRun, Verdict: GateInsufficient}
	base := g.URL
	if base == "" && q != nil {
		base = q.URL
	}
	if base == "" {
		res.Reason = "no Prometheus to ask (rollout run --prometheus)"
		return res
	}
	secs := max(1, int64(window/time.Second))
	query := strings.ReplaceAll(g.Query, WindowPlaceholder, fmt.Sprintf("%ds", secs))
	res.Figures = map[string]float64{"window_seconds": float64(secs)}
	a, err := q.api(base)
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	timeout := 10 * time.Second
	if q != nil && q.Timeout > 0 {
		timeout = q.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	val, _, _, err := a.Query(ctx, query, now, promv1.WithTimeout(timeout))
	if err != nil {
		res.Reason = fmt.Sprintf("prometheus %s: %v", base, err)
		return res
	}
	values, labels := samples(val)
	if len(values) == 0 {
		res.Reason = fmt.Sprintf("%s: no data", query)
		return res
	}
	limit, over := 0.0, func(v float64) bool { return false }
	bound := ""
	if g.Max != nil {
		limit, bound = *g.Max, "max"
		over = func(v float64) bool { return v > limit }
	} else {
		limit, bound = *g.Min, "min"
		over = func(v float64) bool { return v < limit }
	}
	res.Figures[bound] = limit
	var bad, nan []string
	worst := math.NaN()
	for i, v := range values {
		switch {
		case math.IsNaN(v):
			nan = append(nan, labels[i])
			continue
		case over(v):
			bad = append(bad, fmt.Sprintf("%s = %.4g", labels[i], v))
		}
		if math.IsNaN(worst) || (g.Max != nil && v > worst) || (g.Min != nil && v < worst) {
			worst = v
		}
	}
	if !math.IsNaN(worst) {
		res.Figures["value"] = roundSig(worst)
	}
	res.Figures["series"] = float64(len(values))
	switch {
	case len(bad) > 0:
		res.Verdict = GateFail
		res.Reason = fmt.Sprintf("%s over the %s %g: %s", g.Name, bound, limit, strings.Join(bad, ", "))
	case len(nan) > 0:
		res.Reason = fmt.Sprintf("%s: no value (NaN) for %s", g.Name, strings.Join(nan, ", "))
	default:
		res.Verdict = GatePass
		res.Reason = fmt.Sprintf("%s = %.4g within the %s %g", g.Name, worst, bound, limit)
	}
	if g.DryRun {
		res.Reason = "dry run: " + res.Reason
	}
	return res
}

// samples flattens an instant query's answer to values and their labels.
func samples(v model.Value) ([]float64, []string) {
	var vals []float64
	var labels []string
	switch x := v.(type) {
	case *model.Scalar:
		vals, labels = append(vals, float64(x.Value)), append(labels, "scalar")
	case model.Vector:
		sort.Slice(x, func(i, j int) bool { return x[i].Metric.String() < x[j].Metric.String() })
		for _, s := range x {
			vals, labels = append(vals, float64(s.Value)), append(labels, s.Metric.String())
		}
	case model.Matrix:
		for _, s := range x {
			if n := len(s.Values); n > 0 {
				vals, labels = append(vals, float64(s.Values[n-1].Value)), append(labels, s.Metric.String())
			}
		}
	}
	return vals, labels
}

// describe says what the gate checks, for the plan's schedule.
func (g PrometheusGate) describe() string {
	s := fmt.Sprintf("fail when %s", g.Query)
	if g.Max != nil {
		s += fmt.Sprintf(" > %g", *g.Max)
	} else {
		s += fmt.Sprintf(" < %g", *g.Min)
	}
	if g.URL != "" {
		s += " at " + g.URL
	}
	if g.DryRun {
		s += " (dry run: recorded, decides nothing)"
	}
	return s
}
