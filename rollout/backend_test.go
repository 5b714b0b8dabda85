package rollout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExecBackend(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "weights")
	// Appends the weight it is given and the one in the environment.
	b := &ExecBackend{Command: `echo "$CUTOVER_WEIGHT" >>` + out + ` ; echo >>` + out}
	ctx := context.Background()
	for _, w := range []float64{5, 5, 25, 0} {
		if err := b.SetWeight(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(out)
	if want := "5\n5\n25\n25\n0\n0\n"; string(got) != want {
		t.Errorf("command ran with %q, want %q (once per change, weight as argument and in CUTOVER_WEIGHT)", got, want)
	}
	failing := &ExecBackend{Command: "echo reload failed >&2; exit 3; :"}
	if err := failing.SetWeight(ctx, 10); err == nil || !strings.Contains(err.Error(), "reload failed") {
		t.Errorf("failing command: %v, want an error with its output", err)
	}
}
