// Package rollout moves live traffic to the candidate step by step: a plan
// of weights, gates judged on what the mirrors measure, automatic rollback,
// and a journal in SQLite that survives crashes and restarts.
package rollout

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
)

// Plan is a rollout's schedule and its rules, read from YAML by ParsePlan.
type Plan struct {
	// Name identifies the rollout in the state file.
	Name  string `yaml:"name"`
	Steps []Step `yaml:"steps"`
	// Hold and MinRequests are the defaults of steps that do not say.
	Hold        time.Duration `yaml:"hold"`
	MinRequests int64         `yaml:"min_requests"`
	// Interval is how often gates are evaluated [30s].
	Interval time.Duration `yaml:"interval"`
	// FalseAlarm is the chance that a rollout of a candidate no worse
	// than legacy is failed by a gate, although gates are checked every
	// interval of every step [0.05]: the gates use tests valid under
	// repeated looks, and the level is split between steps and gates.
	FalseAlarm float64 `yaml:"false_alarm"`
	// MaxDuration and OnTimeout are the defaults of steps that do not say.
	MaxDuration time.Duration `yaml:"max_duration"`
	OnTimeout   string        `yaml:"on_timeout"`
	// RecentIntervals is how many of the latest intervals the recent
	// window spans, judged beside the step's whole window so that a
	// regression that starts late in a long step is caught as fast as one
	// that starts with it [2].
	RecentIntervals int `yaml:"recent_intervals"`
	// Quorum is how many mirrors must answer for a step to be judged [a
	// majority of those given]; the missing ones are named.
	Quorum   int      `yaml:"quorum"`
	Gates    Gates    `yaml:"gates"`
	Failure  Failure  `yaml:"failure"`
	Webhooks []string `yaml:"webhooks"`
}

// Step is one weight held until the gates pass.
type Step struct {
	line int // where the step is written, for errors

	Weight float64 `yaml:"weight"`
	// Hold is the minimum time at this weight [the plan's Hold, 5m].
	Hold time.Duration `yaml:"hold"`
	// MinRequests is the minimum of requests each side must have served
	// at this weight [the plan's MinRequests, 1000].
	MinRequests int64 `yaml:"min_requests"`
	// PauseBefore is a manual gate: the rollout pauses before this step
	// until an operator resumes it.
	PauseBefore bool `yaml:"pause_before"`
	// MaxDuration is the step's deadline: a step still not passed (too
	// little evidence, a blind fleet) then does OnTimeout [the plan's, or
	// 3 holds and 20 intervals].
	MaxDuration time.Duration `yaml:"max_duration"`
	// OnTimeout is "pause" (hold the weight, alert, end `run` with exit
	// code 4) or "rollback" [the plan's, pause].
	OnTimeout string `yaml:"on_timeout"`
	// Gates override the plan's gates at this step, key by key; after
	// parsing they are the step's whole gates.
	Gates Gates `yaml:"gates"`

	gatesNode *yaml.Node // the step's own gates, laid over the plan's
}

// Gates configure the three gates; each can be turned off.
type Gates struct {
	ErrorRate   ErrorRateGate   `yaml:"error_rate"`
	Latency     LatencyGate     `yaml:"latency"`
	Differences DifferencesGate `yaml:"differences"`
	// Prometheus are gates on PromQL queries (prometheus.go).
	Prometheus []PrometheusGate `yaml:"prometheus"`
}

// ErrorRateGate fails when the candidate's served error rate (5xx and no
// answer) is credibly above MaxRatio times the legacy's [1.2]. Max, when
// set, is an absolute ceiling on the candidate's rate (gate
// error_ceiling), e.g. `max: 0.5%`. DryRun gates are judged, journaled
// and shown but never hold or roll back a step (here: both gates).
type ErrorRateGate struct {
	Disabled bool    `yaml:"disabled"`
	DryRun   bool    `yaml:"dry_run"`
	MaxRatio float64 `yaml:"max_ratio"`
	Max      Ratio   `yaml:"max"`
}

// LatencyGate fails when the shadow comparisons show the candidate slower
// than the legacy beyond the diff engine's tolerance (Mann-Whitney with a
// Hodges-Lehmann shift), at a level spent over the repeated looks.
type LatencyGate struct {
	Disabled bool `yaml:"disabled"`
	// DryRun applies to the median, tail and ceiling gates alike.
	DryRun bool `yaml:"dry_run"`
	// MaxShift raises the tolerance: a candidate slower by less than this
	// passes even when the diff engine's own tolerance (5% of the legacy
	// median, at least 1ms) is smaller [0].
	MaxShift time.Duration `yaml:"max_shift"`
	// Tail is the gate on a high quantile's shift (latency_tail).
	Tail TailGate `yaml:"tail"`
	// MaxP99, when set, is an absolute ceiling on the candidate's p99
	// (latency_ceiling), e.g. `max_p99: 250ms`.
	MaxP99 time.Duration `yaml:"max_p99"`
}

// TailGate fails when the candidate's Quantile [0.99] is credibly later
// than the legacy's by more than MaxShift [10% of the legacy's quantile,
// at least the latency gate's max_shift and 1ms]: a regression of a few
// answers that leaves the median alone.
type TailGate struct {
	Disabled bool          `yaml:"disabled"`
	DryRun   bool          `yaml:"dry_run"`
	Quantile float64       `yaml:"quantile"`
	MaxShift time.Duration `yaml:"max_shift"`
}

// DifferencesGate fails when the share of compared exchanges that differ
// (noise excluded) is credibly above MaxRate overall [0.01], or above
// MaxEndpointRate on one endpoint [0.05]; MinCompared exchanges are needed
// to pass [100].
type DifferencesGate struct {
	Disabled        bool    `yaml:"disabled"`
	DryRun          bool    `yaml:"dry_run"`
	MaxRate         float64 `yaml:"max_rate"`
	MaxEndpointRate float64 `yaml:"max_endpoint_rate"`
	MinCompared     int64   `yaml:"min_compared"`
}

// Failure is the failure policy.
type Failure struct {
	// Consecutive failed evaluations that roll back [2]. After a failed
	// one the next comes a quarter interval later, not a whole one.
	Consecutive int `yaml:"consecutive"`
	// Rollback is "immediate" (weight 0 at once, the default) or "steps"
	// (down through the earlier steps, one per interval).
	Rollback string `yaml:"rollback"`
}

// Defaults.
const (
	defaultHold        = 5 * time.Minute
	defaultMinRequests = 1000
	defaultInterval    = 30 * time.Second
	defaultFalseAlarm  = 0.05
)

// ParsePlan reads a plan, fills in the defaults and validates it. Errors
// name the line: `plan line 4: weight 120 is over 100`.
func ParsePlan(data []byte) (*Plan, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("plan: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("plan: empty")
	}
	top := doc.Content[0]
	var p Plan
	if err := decodeStrict(top, &p); err != nil {
		return nil, err
	}
	lines := map[string]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		lines[top.Content[i].Value] = top.Content[i].Line
	}
	if err := p.complete(lines); err != nil {
		return nil, err
	}
	return &p, nil
}

// decodeStrict decodes with unknown keys refused, naming the line.
func decodeStrict(n *yaml.Node, v any) error {
	if err := checkKeys(n, v); err != nil {
		return err
	}
	if err := n.Decode(v); err != nil {
		return planDecodeError(n, err)
	}
	return nil
}

// Schedule writes the plan as a person reads it.
func (p *Plan) Schedule(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "rollout %q: %d steps, evaluated every %s, false-alarm level %g for the whole rollout\n", p.Name, len(p.Steps), p.Interval, p.FalseAlarm)
	fmt.Fprintln(tw, "step\tweight\thold at least\tmin requests per side\tmanual gate")
	for i, s := range p.Steps {
		gate := ""
		if s.PauseBefore {
			gate = "pause before"
		}
		fmt.Fprintf(tw, "%d\t%g%%\t%s\t%d\t%s\n", i+1, s.Weight, s.Hold, s.MinRequests, gate)
	}
	g := p.Gates
	fmt.Fprintf(tw, "gates:\n")
	fmt.Fprintf(tw, "  error rate\t%s\n", onOff(g.ErrorRate.Disabled, fmt.Sprintf("fail when the candidate's error rate is credibly over %g× the legacy's", g.ErrorRate.MaxRatio)))
	fmt.Fprintf(tw, "  latency\t%s\n", onOff(g.Latency.Disabled, fmt.Sprintf("fail when the candidate is credibly slower than the legacy beyond the diff engine's tolerance or %s, whichever is larger", g.Latency.MaxShift)))
	fmt.Fprintf(tw, "  differences\t%s\n", onOff(g.Differences.Disabled, fmt.Sprintf("fail over %g%% different overall or %g%% on an endpoint; pass with at least %d compared",
		100*g.Differences.MaxRate, 100*g.Differences.MaxEndpointRate, g.Differences.MinCompared)))
	for _, q := range g.Prometheus {
		fmt.Fprintf(tw, "  %s\t%s\n", q.Name, q.describe())
	}
	how := "to 0 at once"
	if p.Failure.Rollback == "steps" {
		how = "step by step"
	}
	fmt.Fprintf(tw, "on failure:\troll back %s after %d consecutive failed evaluations\n", how, p.Failure.Consecutive)
	for _, h := range p.Webhooks {
		fmt.Fprintf(tw, "webhook:\t%s\n", h)
	}
	return tw.Flush()
}

func onOff(disabled bool, desc string) string {
	if disabled {
		return "off"
	}
	return desc
}

// step returns step i, or a zero Step past the end.
func (p *Plan) step(i int) Step {
	if i < 0 || i >= len(p.Steps) {
		return Step{}
	}
	return p.Steps[i]
}

func validWebhook(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook %q is not an http(s) URL", s)
	}
	return nil
}
