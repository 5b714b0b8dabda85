package testbed

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/rs/zerolog"
)

// StartForTest starts a bed for t and stops it when t ends. Without NGINX it
// skips t with the reason, except under CI (CI=true), where it fails: a CI
// run that skipped the real legacy would prove nothing.
func StartForTest(t testing.TB, cfg Config) *Bed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	b, err := Start(ctx, zerolog.Nop(), cfg)
	if err != nil {
		cancel()
		if errors.Is(err, ErrNoNGINX) && os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		b.Stop()
	})
	return b
}
