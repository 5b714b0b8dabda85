package replay

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// need returns the path of a program a test runs, skipping the test when
// it is missing (failing under CI, where a skip would prove nothing).
func need(t testing.TB, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed: %v", prog, err)
		}
		t.Skipf("skipping: %s is not installed", prog)
	}
	return p
}

// needRoot skips (fails under CI) a test that captures live.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("live capture needs root")
		}
		t.Skip("skipping: live capture needs root")
	}
}

var droppedRE = regexp.MustCompile(`(\d+) packets dropped by kernel`)

// tcpdump captures loopback traffic on port while traffic runs, into a
// file it returns. The capture is stopped only once the file stops
// growing, so that it holds every packet sent; a capture the kernel
// dropped packets from is no oracle, so it is made again (five tries).
func tcpdump(t testing.TB, port int, traffic func()) string {
	t.Helper()
	bin := need(t, "tcpdump")
	needRoot(t)
	for try := 0; ; try++ {
		path, dropped, err := tcpdumpOnce(t, bin, port, traffic)
		if err != nil {
			t.Fatal(err)
		}
		if dropped == 0 {
			return path
		}
		if try == 4 {
			t.Fatalf("tcpdump lost %d packets on five tries", dropped)
		}
		t.Logf("tcpdump lost %d packets: capturing again", dropped)
	}
}

func tcpdumpOnce(t testing.TB, bin string, port int, traffic func()) (string, int, error) {
	path := fmt.Sprintf("%s/capture.pcap", t.TempDir())
	cmd := exec.Command(bin, "-i", "lo", "-U", "-B", "131072", "-s", "0", "-Z", "root",
		"-w", path, "tcp port "+strconv.Itoa(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", 0, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, fmt.Errorf("tcpdump: %w", err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out bytes.Buffer
	deadline := time.After(20 * time.Second)
	for listening := false; !listening; {
		select {
		case l, ok := <-lines:
			if !ok {
				return "", 0, fmt.Errorf("tcpdump exited: %s", out.String())
			}
			out.WriteString(l + "\n")
			listening = strings.Contains(l, "listening on")
		case <-deadline:
			return "", 0, fmt.Errorf("tcpdump did not start: %s", out.String())
		}
	}
	time.Sleep(200 * time.Millisecond)
	traffic()
	var last int64 = -1
	for {
		time.Sleep(1200 * time.Millisecond) // over the packet ring's block timeout
		fi, err := os.Stat(path)
		if err != nil {
			return "", 0, err
		}
		if fi.Size() == last {
			break
		}
		last = fi.Size()
	}
	cmd.Process.Signal(syscall.SIGINT)
	for l := range lines {
		out.WriteString(l + "\n")
	}
	cmd.Wait()
	m := droppedRE.FindStringSubmatch(out.String())
	if m == nil {
		return "", 0, fmt.Errorf("tcpdump said no drop count: %s", out.String())
	}
	dropped, _ := strconv.Atoi(m[1])
	return path, dropped, nil
}

// run runs a program of the test, failing the test on error.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(need(t, name), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// tsharkRequests is how many HTTP requests tshark finds in a capture.
func tsharkRequests(t testing.TB, path string) int {
	t.Helper()
	out := run(t, "tshark", "-n", "-r", path, "-Y", "http.request", "-T", "fields", "-e", "frame.number")
	return strings.Count(out, "\n")
}

// truncateLog empties an access log before the traffic it will record.
func truncateLog(t testing.TB, path string) {
	t.Helper()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

// readPath reads a capture file with cfg.
func readPath(t testing.TB, path string, cfg ReadConfig) ([]*Record, Stats) {
	t.Helper()
	var recs []*Record
	st, err := ReadFile(context.Background(), path, cfg, func(r *Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return recs, st
}
