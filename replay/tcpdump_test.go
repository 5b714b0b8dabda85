package replay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testbed"
)

// tcpdump captures loopback traffic on port while traffic runs, into a
// file it returns (testbed.CaptureForTest).
func tcpdump(t testing.TB, port int, traffic func()) string {
	t.Helper()
	return testbed.CaptureForTest(t, port, traffic)
}

// run runs a program of the test, failing the test on error.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	testbed.NeedPrograms(t, name)
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// tsharkRequests is how many HTTP requests tshark finds in a capture of
// HTTP on port. The port is named: a test bed's port is a random one, which
// tshark may take for another protocol's (and then lists no request).
func tsharkRequests(t testing.TB, path string, port int) int {
	t.Helper()
	out := run(t, "tshark", "-n", "-r", path, "-d", fmt.Sprintf("tcp.port==%d,http", port), "-Y", "http.request", "-T", "fields", "-e", "frame.number")
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
