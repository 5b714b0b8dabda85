package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// The demo, shortened: the regression switched on half way shows up as the
// changed price, and every request is accounted for.
func TestDemoCatchesTheRegression(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	s, err := Run(context.Background(), zerolog.Nop(), Config{Duration: 4 * time.Second, Rate: 150, Out: &out})
	if errors.Is(err, testbed.ErrNoNGINX) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Counts.Check(); err != nil {
		t.Error(err)
	}
	if s.Verdict != diff.VerdictFail {
		t.Errorf("verdict %s, want fail: the candidate regresses half way", s.Verdict)
	}
	var found bool
	for _, ep := range s.Endpoints {
		for _, f := range ep.ReportedFields() {
			found = found || (ep.Endpoint == "GET /api/items/{id}" && f.Path == "body.price")
		}
	}
	if !found {
		t.Errorf("body.price of GET /api/items/{id} not reported; reasons %v", s.Reasons)
	}
	if !strings.Contains(out.String(), "candidate regresses") || !strings.Contains(out.String(), "0 failed") {
		t.Errorf("commentary:\n%s", out.String())
	}
}
