package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cutover/cutover/rollout"
)

// Backend and source kinds of `rollout run`.
const (
	doorMirror  = "mirror"
	doorExec    = "exec:"
	doorHAProxy = "haproxy:"
	doorNGINX   = "nginx:"
	// sourceBackend measures with the front door that sets the weight.
	sourceBackend = "backend"
	// sourcePrometheus sums the fleet's mirrors, or taps, from one Prometheus.
	sourcePrometheus = "prometheus:"
)

func addDoorFlags(fl *pflag.FlagSet, f *rolloutRunFlags) {
	fl.StringVar(&f.backend, "backend", doorMirror, `how the weight is set: "mirror" (the mirrors' admin API), "exec:CMD" (CMD WEIGHT), `+
		`"haproxy:ADDR?backend=NAME&legacy=SRV&candidate=SRV" (HAProxy's runtime API at a socket path or host:port), `+
		`"nginx:URL" (the cutover split module's admin location in the legacy NGINX)`)
	fl.StringVar(&f.backendTokenFile, "backend-token-file", "", "file holding the bearer token of the nginx backend's admin location")
	fl.StringVar(&f.prometheus, "prometheus", "", "base URL of the Prometheus that the plan's prometheus gates query (an entry's url: overrides it)")
	fl.StringVar(&f.source, "source", "", `what a step is judged on: "mirror" (the mirrors' windows), "backend" (the served and 5xx counts `+
		`of the haproxy or nginx backend), "prometheus:URL" (every mirror's or tap's /metrics summed by one Prometheus) (default: mirror with --mirror, else backend)`)
	fl.StringVar(&f.sourceSelector, "source-selector", "", `PromQL label matchers that narrow a prometheus: source to the fleet, e.g. 'job="edge"'`)
}

// doors are what the controller sets the weight with and measures on.
type doors struct {
	backend rollout.WeightSetter
	source  interface {
		Measure(ctx context.Context, windowID string) (rollout.Measure, error)
	}
	prometheus *rollout.Prometheus
}

// frontDoor is a router that sets the weight and counts what each side
// served.
type frontDoor interface {
	rollout.WeightSetter
	Measure(ctx context.Context, windowID string) (rollout.Measure, error)
	Check(ctx context.Context) error
}

var (
	_ frontDoor = (*rollout.HAProxy)(nil)
	_ frontDoor = (*rollout.NGINXSplit)(nil)
)

// openDoors builds the backend and the source from the flags, and checks
// that a front door answers: a typo must fail at start (exit 2), not hold
// a rollout.
func openDoors(ctx context.Context, f rolloutRunFlags, p *rollout.Plan, admins []string, token string) (doors, error) {
	var d doors
	if f.prometheus != "" {
		if u, err := url.Parse(f.prometheus); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return d, fmt.Errorf("--prometheus %q: want the http(s) URL of a Prometheus", f.prometheus)
		}
	}
	d.prometheus = &rollout.Prometheus{URL: f.prometheus}
	if err := d.prometheus.NeedsURL(p); err != nil {
		return d, err
	}
	var fleet *rollout.Fleet
	if len(admins) > 0 {
		var err error
		if fleet, err = rollout.NewFleet(admins, token); err != nil {
			return d, fmt.Errorf("--mirror: %w", err)
		}
		fleet.Lease, fleet.Quorum = f.lease, f.quorum
	}
	needFleet := func(what string) error {
		if fleet == nil {
			return fmt.Errorf("%s needs the mirrors: give --mirror ADMIN_URL[,ADMIN_URL...]", what)
		}
		return nil
	}
	var door frontDoor
	switch b := f.backend; {
	case b == doorMirror:
		if err := needFleet("--backend mirror"); err != nil {
			return d, err
		}
		d.backend = fleet
	case strings.HasPrefix(b, doorExec) && len(b) > len(doorExec):
		d.backend = &rollout.ExecBackend{Command: strings.TrimPrefix(b, doorExec)}
	case strings.HasPrefix(b, doorHAProxy):
		h, err := rollout.ParseHAProxy(strings.TrimPrefix(b, doorHAProxy))
		if err != nil {
			return d, fmt.Errorf("--backend: %w", err)
		}
		door = h
	case strings.HasPrefix(b, doorNGINX):
		if f.backendTokenFile == "" {
			return d, errors.New("--backend nginx: needs --backend-token-file (the split's admin token)")
		}
		tok, err := readToken("--backend-token-file", f.backendTokenFile)
		if err != nil {
			return d, err
		}
		n, err := rollout.NewNGINXSplit(strings.TrimPrefix(b, doorNGINX), tok)
		if err != nil {
			return d, fmt.Errorf("--backend: %w", err)
		}
		door = n
	default:
		return d, fmt.Errorf(`--backend %q: want "mirror", "exec:CMD", "haproxy:ADDR?backend=..." or "nginx:URL"`, b)
	}
	if door != nil {
		if err := door.Check(ctx); err != nil {
			return d, fmt.Errorf("--backend: %w", err)
		}
		d.backend = door
	}
	source := f.source
	if source == "" {
		source = sourceBackend
		if fleet != nil || door == nil {
			source = doorMirror
		}
	}
	if f.sourceSelector != "" && !strings.HasPrefix(source, sourcePrometheus) {
		return d, fmt.Errorf("--source-selector narrows a prometheus: source, not %q", source)
	}
	switch {
	case source == doorMirror:
		if err := needFleet("--source mirror"); err != nil {
			return d, err
		}
		d.source = fleet
	case source == sourceBackend:
		if door == nil {
			return d, fmt.Errorf("--source backend needs a haproxy: or nginx: --backend, not %q", f.backend)
		}
		d.source = door
	case strings.HasPrefix(source, sourcePrometheus):
		base := strings.TrimPrefix(source, sourcePrometheus)
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return d, fmt.Errorf("--source %q: want prometheus: and the http(s) URL of a Prometheus", source)
		}
		ps := &rollout.PrometheusSource{URL: base, Selector: f.sourceSelector}
		if err := ps.Check(ctx); err != nil {
			return d, fmt.Errorf("--source: %w", err)
		}
		d.source = ps
	default:
		return d, fmt.Errorf(`--source %q: want "mirror", "backend" or "prometheus:URL"`, source)
	}
	return d, nil
}
