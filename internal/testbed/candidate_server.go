package testbed

import (
	"context"
	"fmt"
	"net/url"

	"github.com/rs/zerolog"
)

// CandidateConfig says how to start the candidate fixture.
type CandidateConfig struct {
	// Origin is the host:port the candidate proxies to.
	Origin string
	// Switches in force from the start; the zero value is faithful.
	Switches Switches
	// Seed makes drawn latencies reproducible.
	Seed uint64
}

// Candidate is the running candidate fixture: a Go reverse proxy that
// re-implements the legacy edge, with switches to misbehave on purpose.
type Candidate struct {
	// Addr and URL are where it serves traffic; ControlURL its control endpoint.
	Addr       string
	URL        string
	ControlURL string

	handler  *candidateHandler
	switches *switchState
	srv      *Server
	control  *Server
}

// StartCandidate starts the candidate and its control endpoint on free
// loopback ports. Both stop when ctx is done or Stop is called.
func StartCandidate(ctx context.Context, log zerolog.Logger, cfg CandidateConfig) (*Candidate, error) {
	if err := cfg.Switches.Validate(); err != nil {
		return nil, fmt.Errorf("candidate switches: %w", err)
	}
	origin, err := url.Parse("http://" + cfg.Origin)
	if err != nil {
		return nil, fmt.Errorf("candidate origin: %w", err)
	}
	c := &Candidate{switches: newSwitchState(cfg.Switches, cfg.Seed)}
	c.handler = newCandidateHandler(origin, c.switches)
	if c.srv, err = startServer(ctx, "tcp", "127.0.0.1", c.handler); err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	if c.control, err = startServer(ctx, "tcp", "127.0.0.1", controlHandler(c)); err != nil {
		c.srv.Stop()
		return nil, fmt.Errorf("candidate control: %w", err)
	}
	c.Addr, c.URL, c.ControlURL = c.srv.Addr, c.srv.URL, c.control.URL
	log.Debug().Str("addr", c.Addr).Str("control", c.ControlURL).Msg("candidate started")
	return c, nil
}

// Switches returns the switches in force.
func (c *Candidate) Switches() Switches { return c.switches.get() }

// SetSwitches replaces the switches in force, for the requests that follow.
func (c *Candidate) SetSwitches(sw Switches) error {
	if err := sw.Validate(); err != nil {
		return err
	}
	c.switches.set(sw)
	return nil
}

// Stats reports what the candidate did so far.
func (c *Candidate) Stats() CandidateStats { return c.handler.stats() }

// Stop stops serving at once: later requests are refused, as by a dead host.
func (c *Candidate) Stop() error {
	err := c.srv.Stop()
	c.control.Stop()
	return err
}
