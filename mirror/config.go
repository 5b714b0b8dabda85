// Package mirror is the live shadow proxy: each request is served by one
// side (the primary) and copied to the other (the shadow), both answers go
// to the diff engine, and the share of users the candidate serves is set
// by a weight. The client's answer is never slowed, changed or failed by
// the shadow.
package mirror

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cutover/cutover/diff"
)

// Config is what a Mirror is built from. Zero values of the optional fields
// take the documented defaults.
type Config struct {
	// Legacy and Candidate are the two sides; Secondary, when set, is a
	// second legacy instance every shadowed request is also sent to, to
	// measure noise.
	Legacy, Candidate, Secondary *url.URL

	// Weight is the percentage (0–100) of users the candidate serves.
	Weight float64
	// SplitKey says what identifies a user: "ip" (the default),
	// "header:NAME" or "cookie:NAME". A request without the header or
	// cookie falls back to its IP.
	SplitKey string
	// ForceHeader names a request header whose value "legacy" or
	// "candidate" pins the request to that side (for testers); empty
	// disables pinning.
	ForceHeader string
	// Sample is the percentage (0–100) of users whose requests are
	// shadowed [100]. Sticky, like the weight.
	Sample *float64

	// MaxBody caps request and response bodies captured for comparison;
	// larger ones are served normally but not compared [1 MiB].
	MaxBody int64
	// QueueSize bounds shadow requests waiting for a worker [1024]; when
	// full, new ones are dropped and counted as queue_full.
	QueueSize int
	// BodyBudget bounds the body bytes held for comparison by every
	// request in flight together: request bodies read ahead, the
	// primary's and the shadow's answers [256 MiB]. Memory then follows
	// the budget, not the number of connections; a request that finds it
	// spent is served all the same and skipped as body_budget. Requests
	// that will not be compared (sampled out, unsafe) hold nothing.
	BodyBudget int64
	// QueueBytes is the former name of BodyBudget, used when BodyBudget
	// is zero.
	QueueBytes int64
	// Workers is the number of shadow senders [64].
	Workers int
	// ShadowTimeout bounds one shadow exchange [10s].
	ShadowTimeout time.Duration
	// Unsafe also shadows POST, PUT, PATCH and DELETE; without it they are
	// served but counted as skipped "unsafe".
	Unsafe bool
	// NoiseSamples, without a Secondary, is how many safe (GET, HEAD)
	// requests are sent to legacy a second time so that the diff engine
	// learns what legacy varies on by itself [diff.DefaultNoiseSamples];
	// negative disables it.
	NoiseSamples int
	// UpstreamProto is the protocol shadow copies are sent in:
	// upstream.ProtoH1 (""), ProtoH2 or ProtoAuto, so that a candidate
	// reachable only over h2c or h2 can be shadowed; UpstreamTLS
	// configures https targets (trusted roots), nil for Go's defaults.
	UpstreamProto string
	UpstreamTLS   *tls.Config
}

// ShadowHeader marks every shadow copy, so targets can tell it apart.
const ShadowHeader = "X-Cutover-Shadow"

func (c Config) withDefaults() Config {
	if c.SplitKey == "" {
		c.SplitKey = "ip"
	}
	if c.Sample == nil {
		all := 100.0
		c.Sample = &all
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 1 << 20
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.BodyBudget <= 0 {
		c.BodyBudget = c.QueueBytes
	}
	if c.BodyBudget <= 0 {
		c.BodyBudget = 256 << 20
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.NoiseSamples == 0 {
		c.NoiseSamples = diff.DefaultNoiseSamples
	}
	if c.ShadowTimeout <= 0 {
		c.ShadowTimeout = 10 * time.Second
	}
	return c
}

// Validate reports everything wrong with c, one problem per line.
func (c Config) Validate() error {
	var errs []error
	for _, t := range []struct {
		name string
		u    *url.URL
		need bool
	}{{"legacy", c.Legacy, true}, {"candidate", c.Candidate, true}, {"secondary", c.Secondary, false}} {
		switch {
		case t.u == nil && t.need:
			errs = append(errs, fmt.Errorf("%s: a URL is required", t.name))
		case t.u != nil && (t.u.Scheme != "http" && t.u.Scheme != "https" || t.u.Host == ""):
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", t.name, t.u))
		}
	}
	if err := validPercent("weight", c.Weight); err != nil {
		errs = append(errs, err)
	}
	if c.Sample != nil {
		if err := validPercent("sample", *c.Sample); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := parseSplitKey(c.SplitKey); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validPercent(name string, v float64) error {
	if v < 0 || v > 100 || v != v {
		return fmt.Errorf("%s must be between 0 and 100, got %g", name, v)
	}
	return nil
}

// splitKey is a parsed Config.SplitKey.
type splitKey struct {
	kind string // "ip", "header" or "cookie"
	name string
}

func parseSplitKey(s string) (splitKey, error) {
	if s == "" || s == "ip" {
		return splitKey{kind: "ip"}, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if ok && name != "" && (kind == "header" || kind == "cookie") {
		return splitKey{kind: kind, name: name}, nil
	}
	return splitKey{}, fmt.Errorf("split key %q: want ip, header:NAME or cookie:NAME", s)
}
