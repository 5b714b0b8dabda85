package rollout

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// WeightSetter sets the share of traffic the candidate serves: the mirrors
// (Fleet) or any front door (ExecBackend).
type WeightSetter interface {
	SetWeight(ctx context.Context, weight float64) error
}

// ExecBackend sets the weight by running a shell command with the weight
// appended as its last argument (and in CUTOVER_WEIGHT), e.g. a script
// that rewrites an NGINX split_clients include and reloads NGINX.
type ExecBackend struct {
	Command string
	// Timeout bounds one run [30s].
	Timeout time.Duration

	last    float64
	applied bool
}

// SetWeight runs the command when the weight changed since the last
// successful run; the command's output is in the error when it fails.
func (b *ExecBackend) SetWeight(ctx context.Context, weight float64) error {
	if b.applied && b.last == weight {
		return nil
	}
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := strconv.FormatFloat(weight, 'f', -1, 64)
	cmd := exec.CommandContext(ctx, "sh", "-c", b.Command+" "+w)
	cmd.Env = append(os.Environ(), "CUTOVER_WEIGHT="+w)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("backend exec %q: %w: %s", b.Command, err, strings.TrimSpace(string(out)))
	}
	b.last, b.applied = weight, true
	return nil
}
