package testbed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tcpdump is a running capture of loopback traffic into a file, or into
// Stream when the path is "-" (tcpdump -w -, as piped into cutover tap).
type Tcpdump struct {
	Path string
	// Stream is tcpdump's standard output when Path is "-": the capture as
	// it is made, ending when tcpdump does. Its reader closes it.
	Stream io.ReadCloser
	cmd    *exec.Cmd
	done   chan error
	// dropped is what tcpdump said the kernel dropped, once it ended.
	dropped int
}

// StartTcpdump captures the loopback traffic that filter (a pcap filter,
// "tcp port 8443") selects into path (pcap; "-": Stream), and returns
// once tcpdump is listening. Its buffer is large (128 MiB) and it writes
// each packet as it comes, so that on a busy machine it seldom drops any.
func StartTcpdump(ctx context.Context, path, filter string) (*Tcpdump, error) {
	// -Z root: tcpdump running as root would otherwise open its output as
	// the tcpdump user, who cannot write into a test's directory.
	args := []string{"-i", "lo", "-U", "--immediate-mode", "-B", "131072", "-s", "0", "-Z", "root", "-w", path}
	args = append(args, filter)
	cmd := exec.CommandContext(ctx, "tcpdump", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	td := &Tcpdump{Path: path, cmd: cmd, done: make(chan error, 1)}
	var pw *os.File
	if path == "-" {
		// Not cmd.StdoutPipe: Wait closes that once tcpdump exits, maybe
		// before its last packets are read.
		var pr *os.File
		if pr, pw, err = os.Pipe(); err != nil {
			return nil, err
		}
		td.Stream, cmd.Stdout = pr, pw
	}
	err = cmd.Start()
	if pw != nil {
		pw.Close() // tcpdump holds the write end: its exit ends the stream
	}
	if err != nil {
		return nil, fmt.Errorf("start tcpdump: %w", err)
	}
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
// oracle of what was sent. A file is stopped once it stops growing; a
// stream, whose reader may be behind, a moment after the traffic.
func (t *Tcpdump) Stop() error {
	time.Sleep(100 * time.Millisecond) // the last packets reach tcpdump (--immediate-mode hands each over as it comes)
	for last, i := int64(-1), 0; t.Path != "-" && i < 40; i++ {
		fi, err := os.Stat(t.Path)
		if err != nil || fi.Size() == last {
			break
		}
		last = fi.Size()
		time.Sleep(250 * time.Millisecond)
	}
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

// NeedRoot skips t (fails it under CI=true) unless it runs as root: live
// captures (tcpdump, the tap's AF_PACKET ring) need it.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("live capture needs root")
		}
		t.Skip("skipping: live capture needs root")
	}
}

// CaptureForTest captures the traffic on port that traffic sends into a
// file in t's directory and returns its path, as Capture does (tries again
// when the kernel dropped packets); it fails t on error and skips it as
// NeedRoot and NeedPrograms do.
func CaptureForTest(t testing.TB, port int, traffic func()) string {
	t.Helper()
	NeedPrograms(t, "tcpdump")
	NeedRoot(t)
	path := filepath.Join(t.TempDir(), "capture.pcap")
	if err := Capture(t.Context(), path, "tcp port "+strconv.Itoa(port), func() error { traffic(); return nil }); err != nil {
		t.Fatal(err)
	}
	return path
}
