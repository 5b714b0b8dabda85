package diff

import (
	"fmt"
	"runtime/debug"
	"slices"
	"time"
)

// RunInfo is the provenance of a summary: when, from what, by which rules
// and where its noise came from.
type RunInfo struct {
	// Start and End are the times of the first and last exchange (the
	// capture's clock for replay); nil when exchanges carried no time.
	Start     *time.Time `json:"start,omitempty"`
	End       *time.Time `json:"end,omitempty"`
	DurationS float64    `json:"duration_s"`
	Version   string     `json:"version"`
	Rules     RulesInfo  `json:"rules"`
	Noise     NoiseInfo  `json:"noise"`
	// Weight is the candidate's share of live traffic seen during the
	// run, when the source splits traffic.
	Weight *WeightInfo `json:"weight,omitempty"`
	// Sources counts the summaries merged into this one (0 or 1: itself).
	Sources int `json:"sources,omitempty"`
}

// RulesInfo says what the comparison leaves out and how loosely it
// compares, besides the defaults listed in DefaultsIgnored.
type RulesInfo struct {
	Ignore          []string `json:"ignore,omitempty"`
	Unordered       []string `json:"unordered,omitempty"`
	Tolerance       []string `json:"tolerance,omitempty"`
	TimeSkew        []string `json:"time_skew,omitempty"`
	HeadersExcluded []string `json:"headers_excluded,omitempty"`
	HeadersIncluded []string `json:"headers_included,omitempty"`
	Endpoints       int      `json:"endpoints"`
	DefaultsIgnored []string `json:"defaults_ignored"`
}

// NoiseInfo says where the noise estimate comes from: Secondary exchanges
// had an answer of a second legacy instance; Observations counts every
// noise observation (those and learned noise samples).
type NoiseInfo struct {
	Secondary    int64 `json:"secondary"`
	Observations int64 `json:"observations"`
}

// WeightInfo is the candidate's share (percent) over a run.
type WeightInfo struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Last float64 `json:"last"`
}

// Limits are the verdict's limits as a summary records them.
type Limits struct {
	MaxDifferenceRate float64 `json:"max_difference_rate"`
	// MaxCandidateFailures is negative when there is no limit.
	MaxCandidateFailures int64   `json:"max_candidate_failures"`
	IgnoreLatency        bool    `json:"ignore_latency,omitempty"`
	LatencyAlpha         float64 `json:"latency_alpha"`
	LatencyRelative      float64 `json:"latency_relative_tolerance"`
	LatencyAbsoluteMs    float64 `json:"latency_absolute_tolerance_ms"`
	LatencyMinSamples    int     `json:"latency_min_samples"`
}

// defaultsIgnored are what every comparison leaves out (see HeaderRules).
var defaultsIgnored = []string{
	"hop-by-hop headers (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade)",
	"Date, Server, Age, Via", "Content-Length (framing; a length change shows in the body)",
	"Content-Encoding and weak ETag prefixes when a body was compressed",
}

// runInfo fills the provenance of a summary. Caller holds a.mu.
func (a *Aggregator) runInfo(source string) *RunInfo {
	x := &a.extra
	r := &RunInfo{Version: buildVersion(), Noise: NoiseInfo{Secondary: x.noiseSeen, Observations: a.noise.n},
		Rules: rulesInfo(a.cfg.Rules)}
	if !x.first.IsZero() {
		r.Start, r.End = sampleTime(x.first), sampleTime(x.last)
		r.DurationS = round3(x.last.Sub(x.first).Seconds())
	}
	if x.weights.seen || source == "mirror" {
		r.Weight = &WeightInfo{Min: x.weights.min, Max: x.weights.max, Last: x.weights.now}
	}
	return r
}

func rulesInfo(rules *Rules) RulesInfo {
	info := RulesInfo{DefaultsIgnored: slices.Clone(defaultsIgnored)}
	if rules == nil {
		return info
	}
	info.Ignore = slices.Clone(rules.Ignore)
	info.Unordered = slices.Clone(rules.Unordered)
	for _, t := range rules.Tolerance {
		info.Tolerance = append(info.Tolerance, fmt.Sprintf("%s ±%g or ±%g%%", t.Path, t.Absolute, 100*t.Relative))
	}
	for _, t := range rules.TimeSkew {
		info.TimeSkew = append(info.TimeSkew, fmt.Sprintf("%s ±%s", t.Path, t.Skew))
	}
	info.HeadersExcluded = slices.Clone(rules.Headers.Exclude)
	info.HeadersIncluded = slices.Clone(rules.Headers.Include)
	info.Endpoints = len(rules.Endpoints)
	return info
}

func (a *Aggregator) limits() *Limits {
	v, l := a.cfg.Verdict, a.cfg.Latency
	return &Limits{
		MaxDifferenceRate: v.MaxDifferenceRate, MaxCandidateFailures: v.MaxCandidateFailures,
		IgnoreLatency: v.IgnoreLatency, LatencyAlpha: l.Alpha, LatencyRelative: l.RelativeTolerance,
		LatencyAbsoluteMs: float64(l.AbsoluteTolerance) / float64(time.Millisecond), LatencyMinSamples: l.MinSamples,
	}
}

// buildVersion is the module's version from the build info.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 && (v == "" || v == "(devel)") {
			v = "(devel) " + s.Value[:12]
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}
