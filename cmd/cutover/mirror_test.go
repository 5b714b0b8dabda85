package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// TestMain lets tests run this very binary as the cutover CLI, so that
// signals reach a real process: CUTOVER_TEST_MAIN=1 makes it main.
func TestMain(m *testing.M) {
	if os.Getenv("CUTOVER_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

var listeningLine = regexp.MustCompile(`listening on (\S+), admin on (\S+)`)

// startCLI runs the CLI in a child process and returns it once it printed
// where it listens.
func startCLI(t *testing.T, args ...string) (cmd *exec.Cmd, addr, admin string, stderr *strings.Builder) {
	t.Helper()
	cmd = exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CUTOVER_TEST_MAIN=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	stderr = &strings.Builder{}
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
	}()
	select {
	case m := <-found:
		return cmd, m[1], m[2], stderr
	case <-time.After(20 * time.Second):
		t.Fatalf("cutover did not start: %s", stderr)
	}
	return
}

func TestMirrorAccountsForEveryRequestAfterSIGTERM(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Candidate: testbed.CandidateConfig{Switches: testbed.Switches{
		Latency: testbed.Latency{Fixed: testbed.Duration(20 * time.Millisecond)},
	}}})
	jsonPath := t.TempDir() + "/summary.json"
	cmd, addr, _, stderr := startCLI(t, "mirror", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
		"--legacy", bed.Legacy.URL, "--candidate", bed.Candidate.URL, "--json", jsonPath,
		"--queue", "8", "--workers", "2", "--unsafe")

	ctx, stopLoad := context.WithCancel(context.Background())
	var answered atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				method, path := "GET", fmt.Sprintf("/api/items/%d", 1+(w*131+i)%1000)
				if i%4 == 0 {
					method, path = "POST", "/echo"
				}
				req, _ := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader("x"))
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answered.Add(1)
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	stopLoad()
	wg.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != 0 && code != 1 {
		t.Fatalf("exit code %d (%v), want 0 or 1: %s", code, err, stderr)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("summary not written on SIGTERM: %v", err)
	}
	s, err := diff.ParseSummary(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Counts.Check(); err != nil {
		t.Fatal(err)
	}
	if s.Counts.Requests < answered.Load() {
		t.Errorf("summary counts %d requests, clients got %d answers", s.Counts.Requests, answered.Load())
	}
	if s.Counts.Requests == 0 || s.Counts.Compared == 0 {
		t.Errorf("nothing measured: %+v", s.Counts)
	}
	t.Logf("answered %d; counts %+v", answered.Load(), s.Counts)
}

func TestMirrorWritesSummaryOnSIGHUP(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	jsonPath := t.TempDir() + "/summary.json"
	cmd, addr, _, stderr := startCLI(t, "mirror", "--listen", "127.0.0.1:0", "--admin", "off",
		"--legacy", bed.Legacy.URL, "--candidate", bed.Candidate.URL, "--json", jsonPath)
	for i := range 5 {
		resp, err := http.Get(fmt.Sprintf("http://%s/api/items/%d", addr, i+1))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	time.Sleep(200 * time.Millisecond) // let the shadows finish
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if data, err := os.ReadFile(jsonPath); err == nil {
			s, err := diff.ParseSummary(data)
			if err != nil {
				t.Fatal(err)
			}
			if s.Counts.Requests != 5 {
				t.Errorf("SIGHUP summary counts %d requests, want 5", s.Counts.Requests)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no summary after SIGHUP: %s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cmd.ProcessState != nil {
		t.Fatal("mirror exited on SIGHUP")
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
}

func TestMirrorBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no targets", []string{"mirror"}, "legacy: a URL is required"},
		{"bad weight", []string{"mirror", "--legacy", "http://a", "--candidate", "http://b", "--weight", "150"}, "invalid --weight 150"},
		{"bad url", []string{"mirror", "--legacy", "ftp://a", "--candidate", "http://b"}, `legacy: "ftp://a" is not an http(s) URL`},
		{"bad split key", []string{"mirror", "--legacy", "http://a", "--candidate", "http://b", "--split-key", "geo"}, `split key "geo"`},
		{"missing token file", []string{"mirror", "--legacy", "http://a", "--candidate", "http://b", "--admin-token-file", "/nonexistent"}, "--admin-token-file"},
		{"bad listen address", []string{"mirror", "--legacy", "http://a", "--candidate", "http://b", "--listen", "256.0.0.1:1"}, "listen"},
		{"unreachable legacy", []string{"mirror", "--legacy", "http://127.0.0.1:1", "--candidate", "http://127.0.0.1:1", "--listen", "127.0.0.1:0", "--admin", "off"}, "127.0.0.1:1 is unreachable: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectCLI(t, tt.args, 2, "", tt.want)
		})
	}
}
