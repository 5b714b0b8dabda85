// Package testbed runs the real parts cutover is tested against, on
// loopback: an origin app, the legacy edge (NGINX with the Lua module) in
// front of it, optionally a second legacy instance for noise, and the
// candidate fixture that re-implements the edge with switches to misbehave.
//
// Every part picks free ports, so several beds can run at once.
package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
)

// Config says which parts to start.
type Config struct {
	// Dir is where the NGINX instances keep their files; empty means a new
	// temporary directory, removed by Stop.
	Dir string
	// Secondary also starts a second legacy instance.
	Secondary bool
	// IPv6 makes the legacy instances also listen on [::1].
	IPv6 bool
	// Candidate configures the candidate fixture; its Origin is filled in.
	Candidate CandidateConfig
	// EdgeCandidate, when set, starts a candidate that is the legacy edge
	// (NGINX/Lua) with this one change (edgecandidate.go) in place of the
	// fixture: Bed.EdgeCandidate instead of Bed.Candidate.
	EdgeCandidate *FieldChange
}

// Bed is a running test bed.
type Bed struct {
	Origin    *Server
	Legacy    *NGINX
	Secondary *NGINX // nil unless Config.Secondary
	Candidate *Candidate
	// EdgeCandidate is the NGINX/Lua candidate of Config.EdgeCandidate.
	EdgeCandidate *NGINX

	dir    string
	ownDir bool
}

// Start starts origin, legacy, the secondary if asked, and the candidate.
// Everything stops when ctx is done or Stop is called. It returns
// ErrNoNGINX (wrapped) when NGINX or its Lua module is not installed.
func Start(ctx context.Context, log zerolog.Logger, cfg Config) (_ *Bed, err error) {
	if _, err := FindNGINX(""); err != nil {
		return nil, err
	}
	b := &Bed{dir: cfg.Dir}
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "cutover-testbed-"); err != nil {
			return nil, fmt.Errorf("test bed dir: %w", err)
		}
		b.ownDir = true
	}
	defer func() {
		if err != nil {
			b.Stop()
		}
	}()
	if b.Origin, err = startServer(ctx, "tcp", "127.0.0.1", OriginHandler()); err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	legacy := NGINXConfig{Origin: b.Origin.Addr, IPv6: cfg.IPv6}
	legacy.Dir = filepath.Join(b.dir, "legacy")
	if b.Legacy, err = StartNGINX(ctx, log, legacy); err != nil {
		return nil, fmt.Errorf("legacy: %w", err)
	}
	if cfg.Secondary {
		legacy.Dir = filepath.Join(b.dir, "secondary")
		if b.Secondary, err = StartNGINX(ctx, log, legacy); err != nil {
			return nil, fmt.Errorf("secondary: %w", err)
		}
	}
	if cfg.EdgeCandidate != nil {
		if b.EdgeCandidate, err = StartEdgeCandidate(ctx, log, b.Origin.Addr, filepath.Join(b.dir, "candidate"), *cfg.EdgeCandidate); err != nil {
			return nil, err
		}
		return b, nil
	}
	cc := cfg.Candidate
	cc.Origin = b.Origin.Addr
	if b.Candidate, err = StartCandidate(ctx, log, cc); err != nil {
		return nil, err
	}
	return b, nil
}

// Stop stops every part that was started and removes the bed's own
// directory. It is safe to call more than once.
func (b *Bed) Stop() error {
	var errs []error
	if b.Candidate != nil {
		errs = append(errs, b.Candidate.Stop())
	}
	for _, n := range []*NGINX{b.EdgeCandidate, b.Secondary, b.Legacy} {
		if n != nil {
			errs = append(errs, n.Stop())
		}
	}
	if b.Origin != nil {
		errs = append(errs, b.Origin.Stop())
	}
	if b.ownDir {
		errs = append(errs, os.RemoveAll(b.dir))
	}
	return errors.Join(errs...)
}
