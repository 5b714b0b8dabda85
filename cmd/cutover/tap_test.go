package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/fleettest"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/rollout"
)

func TestTapBadInput(t *testing.T) {
	t.Parallel()
	notCapture := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"tap", "--candidate", "http://127.0.0.1:1"}, "give one of --interface and --read"},
		{"two sources", []string{"tap", "--interface", "lo", "--read", "-", "--candidate", "http://127.0.0.1:1"}, "give one of --interface and --read"},
		{"port and bpf", []string{"tap", "--interface", "lo", "--port", "80", "--bpf", "tcp", "--candidate", "http://127.0.0.1:1"}, "not both"},
		{"bad port", []string{"tap", "--interface", "lo", "--port", "80,x", "--candidate", "http://127.0.0.1:1"}, "invalid --port"},
		{"no candidate", []string{"tap", "--read", notCapture}, "--candidate is required"},
		{"bad candidate", []string{"tap", "--read", notCapture, "--candidate", "ftp://x"}, "invalid --candidate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line naming %q", code, stderr, tt.want)
			}
		})
	}
}

// TestTapReadNotACapture: a stream that is not a capture is a one-line
// error, exit 2, also when the candidate is up.
func TestTapReadNotACapture(t *testing.T) {
	bed := testbed.StartForTest(t, testbed.Config{})
	notCapture := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644)
	code, _, stderr := runCLI(t, "tap", "--read", notCapture, "--candidate", bed.Candidate.URL)
	if code != 2 || !strings.Contains(stderr, "not a capture") {
		t.Errorf("exit %d, stderr %q: want exit 2 naming the problem", code, stderr)
	}
}

const tapRules = `
ignore:
  - header.X-Request-Id
  - header.X-Edge-Time
  - body.generated_at
  - body.request_id
`

const tapPlan = `name: canary
steps: [10, 50, 100]
hold: 3s
min_requests: 20
interval: 300ms
gates:
  differences: {min_compared: 20}
  # Without a secondary the tap judges no latency (legacy is seen on the
  # wire, the candidate as sent): the gate would wait for ever.
  latency: {disabled: true}
`

// TestRolloutGatesOnTap runs `cutover tap` live on loopback in front of
// nothing (legacy's clients talk to NGINX directly) and a rollout whose
// only measurement source is the tap's admin API, the weight set
// elsewhere (exec). A faithful candidate is promoted (exit 0); once the
// candidate's answers change, the rollout rolls back (exit 1), naming the
// differences gate.
func TestRolloutGatesOnTap(t *testing.T) {
	t.Run("faithful", func(t *testing.T) { rolloutOnTap(t, false) })
	t.Run("answers change", func(t *testing.T) { rolloutOnTap(t, true) })
}

func rolloutOnTap(t *testing.T, change bool) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("live capture needs root")
		}
		t.Skip("skipping: live capture needs root")
	}
	bed := testbed.StartForTest(t, testbed.Config{})
	dir := t.TempDir()
	token, rules, plan, state := filepath.Join(dir, "token"), filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "plan.yaml"), filepath.Join(dir, "cutover.db")
	os.WriteFile(token, []byte("tok\n"), 0o600)
	os.WriteFile(rules, []byte(tapRules), 0o644)
	os.WriteFile(plan, []byte(tapPlan), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(bed.Legacy.Addr)

	tap := exec.Command(os.Args[0], "tap", "--interface", "lo", "--port", port, "--candidate", bed.Candidate.URL,
		"--rules", rules, "--admin", admin, "--admin-token-file", token)
	tap.Env = append(os.Environ(), "CUTOVER_TEST_MAIN=1")
	tap.Stdout, tap.Stderr = io.Discard, io.Discard
	if err := tap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Process.Kill(); tap.Wait() })
	for i := 0; ; i++ {
		if resp, err := tapGet(admin, "/status"); err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatal("the tap's admin API never answered")
		}
		time.Sleep(100 * time.Millisecond)
	}
	fleettest.Load(t, bed.Legacy.URL, 2, 5*time.Millisecond)

	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := runCLI(t, "rollout", "--state", state, "run", "--plan", plan, "--mirror", "http://"+admin,
			"--admin-token-file", token, "--backend", "exec:true")
		done <- result{code, stdout, stderr}
	}()
	// The rollout's first look opens its window on the tap (on a busy
	// machine it can take long); a rollout that ended before it says why.
	// The state file is not read meanwhile: opening it while the
	// controller creates it races the controller's schema migration.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if tapWindow(t, admin) != "" {
			time.Sleep(time.Second) // a few more looks
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the rollout ended before its second look: exit %d: %s%s", r.code, r.stdout, r.stderr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the rollout never looked twice")
		}
	}
	if !change {
		var r result
		select {
		case r = <-done:
		case <-time.After(3 * time.Minute):
			t.Fatal("the rollout did not end within 3 minutes")
		}
		if r.code != 0 {
			t.Fatalf("faithful candidate: rollout exit %d (%s%s): want 0, promoted", r.code, r.stdout, r.stderr)
		}
		return
	}
	if err := bed.Candidate.SetSwitches(testbed.Switches{ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`0`)}}); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the rollout did not end within 3 minutes")
	}
	if r.code != 1 {
		t.Fatalf("rollout exit %d (%s%s): want 1, rolled back", r.code, r.stdout, r.stderr)
	}
	j, err := rollout.OpenJournal(t.Context(), state)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	events, _ := j.History(t.Context(), "canary")
	last := events[len(events)-1]
	if last.Kind != "rolled_back" || !strings.Contains(last.Reason, "differences gate failed") {
		t.Errorf("last event %s: %q, want a rollback by the differences gate", last.Kind, last.Reason)
	}
	t.Logf("%s: %s", last.Kind, last.Reason)
}

// TestTapSignals: SIGHUP writes the summary JSON (source "tap") while the
// tap runs; SIGTERM stops it promptly, the summary written again.
func TestTapSignals(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("live capture needs root")
		}
		t.Skip("skipping: live capture needs root")
	}
	bed := testbed.StartForTest(t, testbed.Config{})
	_, port, _ := net.SplitHostPort(bed.Legacy.Addr)
	out := filepath.Join(t.TempDir(), "summary.json")
	tap := exec.Command(os.Args[0], "tap", "--interface", "lo", "--port", port, "--candidate", bed.Candidate.URL, "--json", out)
	tap.Env = append(os.Environ(), "CUTOVER_TEST_MAIN=1")
	if err := tap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Process.Kill(); tap.Wait() })
	read := func() map[string]any {
		var s map[string]any
		for i := 0; i < 100; i++ {
			if b, err := os.ReadFile(out); err == nil && json.Unmarshal(b, &s) == nil {
				return s
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal("no summary written")
		return nil
	}
	time.Sleep(500 * time.Millisecond)
	for _, path := range []string{"/api/items/1", "/api/items/2", "/page"} {
		if resp, err := http.Get(bed.Legacy.URL + path); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	time.Sleep(500 * time.Millisecond)
	tap.Process.Signal(syscall.SIGHUP)
	if s := read(); s["source"] != "tap" || s["schema"] != "cutover.summary/v1" {
		t.Errorf("SIGHUP summary: source %v, schema %v", s["source"], s["schema"])
	}
	os.Remove(out)
	tap.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- tap.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the tap did not stop within 10 s of SIGTERM")
	}
	s := read()
	counts, _ := s["counts"].(map[string]any)
	if counts["requests"] != float64(3) || counts["compared"] != float64(3) {
		t.Errorf("final counts %v: want the 3 requests compared", counts)
	}
}

// tapWindow is the id of the tap's current window ("" before a rollout
// opened one).
func tapWindow(t *testing.T, admin string) string {
	resp, err := tapGet(admin, "/status")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var st struct {
		Window string `json:"window"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	return st.Window
}

// tapGet reads the tap's admin API with the token of these tests: with a
// token, reads need it (as a mirror's).
func tapGet(admin, path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+admin+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return resp, err
}
