package rollout

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics shows a controller's looks to Prometheus: step, weight, each
// gate's verdict, and whether the step is waiting for evidence or blind.
type Metrics struct {
	step, weight, deadline, waiting, missing prometheus.Gauge
	gate                                     *prometheus.GaugeVec
}

// NewMetrics registers the controller's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		step:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "cutover_rollout_step", Help: "The step the rollout is at, from 1."}),
		weight:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "cutover_rollout_weight_percent", Help: "The weight the controller sets."}),
		deadline: prometheus.NewGauge(prometheus.GaugeOpts{Name: "cutover_rollout_deadline_seconds", Help: "Seconds left before the step's max_duration passes (0 when not progressing)."}),
		waiting:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "cutover_rollout_insufficient_evidence", Help: "1 while a gate of the step lacks evidence (or the fleet cannot be measured)."}),
		missing:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "cutover_rollout_mirrors_missing", Help: "Mirrors that did not answer the last look."}),
		gate: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cutover_rollout_gate", Help: "1 for each gate's current verdict (pass, fail, insufficient)."},
			[]string{"gate", "verdict", "dry_run"}),
	}
	reg.MustRegister(m.step, m.weight, m.deadline, m.waiting, m.missing, m.gate)
	return m
}

// observe shows st; a nil Metrics does nothing.
func (m *Metrics) observe(p *Plan, st *State) {
	if m == nil {
		return
	}
	m.step.Set(float64(st.Step + 1))
	m.weight.Set(st.Weight)
	left := 0.0
	if st.Status == StatusProgressing {
		left = max(time.Until(st.Deadline).Seconds(), 0)
	}
	m.deadline.Set(left)
	m.missing.Set(float64(len(st.Missing)))
	m.gate.Reset()
	insufficient := 0.0
	for _, g := range st.Gates {
		dry := "false"
		if g.DryRun {
			dry = "true"
		}
		m.gate.WithLabelValues(g.Gate, g.Verdict, dry).Set(1)
		if g.Verdict == GateInsufficient && !g.DryRun {
			insufficient = 1
		}
	}
	m.waiting.Set(insufficient)
}
