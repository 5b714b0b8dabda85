package testbed

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"strings"
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

// ReadFileForTest reads a test data file whole, gunzipped when its name
// ends in .gz (captures are kept compressed under testdata/).
func ReadFileForTest(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}
