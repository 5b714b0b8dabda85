package testbed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tcpdump is a running capture of loopback traffic into a file.
type Tcpdump struct {
	Path string
	cmd  *exec.Cmd
	done chan error
	// dropped is what tcpdump said the kernel dropped, once it ended.
	dropped int
}

// StartTcpdump captures the loopback traffic that filter (a pcap filter,
// "tcp port 8443") selects into path (pcap), and returns once tcpdump is
// listening.
func StartTcpdump(ctx context.Context, path, filter string) (*Tcpdump, error) {
	args := []string{"-i", "lo", "-U", "--immediate-mode", "-B", "16384", "-s", "0", "-w", path}
	args = append(args, filter)
	cmd := exec.CommandContext(ctx, "tcpdump", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start tcpdump: %w", err)
	}
	td := &Tcpdump{Path: path, cmd: cmd, done: make(chan error, 1)}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var last string
		for sc.Scan() {
			last = sc.Text()
			if strings.Contains(last, "listening on") {
				listening <- ""
			}
			if n, ok := strings.CutSuffix(last, " packets dropped by kernel"); ok {
				td.dropped, _ = strconv.Atoi(n)
			}
		}
		listening <- last
		td.done <- cmd.Wait()
	}()
	select {
	case msg := <-listening:
		if msg != "" {
			return nil, fmt.Errorf("tcpdump: %s", msg)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		return nil, errors.New("tcpdump did not start listening within 10s")
	}
	return td, nil
}

// Stop ends the capture, once what was seen is written, and waits. It
// returns an error when the kernel dropped packets: such a capture is no
// oracle of what was sent.
func (t *Tcpdump) Stop() error {
	time.Sleep(100 * time.Millisecond) // the last packets reach tcpdump (--immediate-mode hands each over as it comes)
	_ = t.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-t.done:
	case <-time.After(5 * time.Second):
		_ = t.cmd.Process.Kill()
		<-t.done
	}
	if t.dropped > 0 {
		return fmt.Errorf("tcpdump: %w (%d)", ErrDropped, t.dropped)
	}
	return nil
}

// ErrDropped is what Stop returns when the kernel dropped packets.
var ErrDropped = errors.New("the kernel dropped packets")

// Capture captures what traffic sends into path, as StartTcpdump does,
// and makes the capture again (five tries) when the kernel dropped
// packets: on a busy machine tcpdump can fall behind, and a capture that
// lost packets is no record of what was sent.
func Capture(ctx context.Context, path, filter string, traffic func() error) error {
	var err error
	for range 5 {
		var td *Tcpdump
		if td, err = StartTcpdump(ctx, path, filter); err != nil {
			return err
		}
		if err = traffic(); err != nil {
			td.Stop()
			return err
		}
		if err = td.Stop(); !errors.Is(err, ErrDropped) {
			return err
		}
	}
	return err
}

// NeedPrograms skips t (fails it under CI=true) unless every program is on
// PATH: tests of captures need tcpdump, tshark, curl.
func NeedPrograms(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed (scripts/deps.sh installs it)", p)
			}
			t.Skipf("skipping: %s is not installed (scripts/deps.sh installs it)", p)
		}
	}
}
