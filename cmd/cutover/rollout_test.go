package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/fleettest"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/mirror"
	"github.com/cutover/cutover/rollout"
)

// mirrorForRollout runs a mirror in front of a test bed with a light load,
// and returns its admin URL, the mirror, and a token file for it.
func mirrorForRollout(t *testing.T) (admin string, m *mirror.Mirror, tokenFile string) {
	t.Helper()
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true})
	fm := fleettest.StartMirror(t, bed, mirror.Config{SplitKey: "header:X-User"}, "tok")
	fleettest.Load(t, fm.URL, 1, 5*time.Millisecond)
	tokenFile = filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("tok\n"), 0o600)
	return fm.Admin, fm.Mirror, tokenFile
}

const longStepPlan = `name: canary
steps: [10, 50, 100]
hold: 1h
min_requests: 5
interval: 300ms
`

// mechanicsPlan is longStepPlan for tests of the controller's commands,
// not its gates: the test bed's candidate really is a little slower than
// legacy, and a latency gate that rolled it back mid-test would end the
// rollout before the commands are tried. Gates are judged, never acted on.
const mechanicsPlan = longStepPlan + `gates:
  latency: {dry_run: true, tail: {dry_run: true}}
  error_rate: {dry_run: true}
  differences: {dry_run: true}
`

// startController runs `cutover rollout run` as a child process.
func startController(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"rollout", "run"}, args...)...)
	cmd.Env = append(os.Environ(), "CUTOVER_TEST_MAIN=1")
	logf, _ := os.Create(filepath.Join(t.TempDir(), "controller.log"))
	cmd.Stdout, cmd.Stderr = io.Discard, logf
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("controller log:\n%s", b)
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// waitState polls the state file until cond holds.
func waitState(t *testing.T, state string, cond func(*rollout.State) bool) *rollout.State {
	t.Helper()
	// Generous: a race-built controller on a busy machine starts slowly.
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if j, err := rollout.OpenJournal(context.Background(), state); err == nil {
			st, err := j.Load(context.Background(), "canary")
			j.Close()
			if err == nil && cond(st) {
				return st
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the rollout never reached the expected state")
	return nil
}

func TestRolloutSurvivesKill9AndRefusesASecondController(t *testing.T) {
	t.Parallel()
	admin, m, token := mirrorForRollout(t)
	dir := t.TempDir()
	plan, state := filepath.Join(dir, "plan.yaml"), filepath.Join(dir, "cutover.db")
	os.WriteFile(plan, []byte(longStepPlan), 0o644)
	// No lease: this test shows the weight kept while no controller runs.
	args := []string{"--plan", plan, "--mirror", admin, "--admin-token-file", token, "--state", state, "--fail-safe-after", "off"}

	first := startController(t, args...)
	before := waitState(t, state, func(st *rollout.State) bool { return st.Looks >= 3 })
	if before.Step != 0 || m.Weight() != 10 {
		t.Fatalf("step %d, mirror weight %g: want the first step at 10", before.Step, m.Weight())
	}

	// A second controller on the same state file refuses to run.
	code, _, stderr := runCLI(t, append([]string{"rollout", "run"}, args...)...)
	if code != 2 || !strings.Contains(stderr, "another controller is running") {
		t.Errorf("second controller: exit %d, %q: want exit 2 and the lock named", code, stderr)
	}

	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	killed := time.Now()
	time.Sleep(1 * time.Second) // three intervals with no controller
	if w := m.Weight(); w != 10 {
		t.Errorf("mirror weight %g while the controller was down, want it kept at 10", w)
	}

	startController(t, args...)
	after := waitState(t, state, func(st *rollout.State) bool { return st.Heartbeat.After(killed) && st.Looks > before.Looks })
	if after.Step != before.Step || !after.StepStarted.Equal(before.StepStarted) || after.WindowID != before.WindowID {
		t.Errorf("after restart: step %d started %v window %q; before: step %d started %v window %q: want the same step, hold kept",
			after.Step, after.StepStarted, after.WindowID, before.Step, before.StepStarted, before.WindowID)
	}
	j, err := rollout.OpenJournal(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	events, _ := j.History(context.Background(), "canary")
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.HasPrefix(got, "started,step,") || !strings.Contains(got, "controller_started") {
		t.Errorf("history %s: want it continuous, from the start through the restart", got)
	}
}

func TestRolloutOperatorCommands(t *testing.T) {
	t.Parallel()
	admin, m, token := mirrorForRollout(t)
	dir := t.TempDir()
	plan, state := filepath.Join(dir, "plan.yaml"), filepath.Join(dir, "cutover.db")
	os.WriteFile(plan, []byte(mechanicsPlan), 0o644)
	startController(t, "--plan", plan, "--mirror", admin, "--admin-token-file", token, "--state", state)
	waitState(t, state, func(st *rollout.State) bool { return st.Looks >= 1 })

	steps := []struct {
		args   []string
		want   func(*rollout.State) bool
		weight float64
	}{
		{[]string{"pause", "--reason", "look at dashboards"}, func(st *rollout.State) bool { return st.Status == rollout.StatusPaused }, 10},
		{[]string{"resume", "--reason", "dashboards fine"}, func(st *rollout.State) bool { return st.Status == rollout.StatusProgressing }, 10},
		{[]string{"promote", "--reason", "confident"}, func(st *rollout.State) bool { return st.Step == 1 }, 50},
		{[]string{"set-weight", "20", "--reason", "hold back a little"}, func(st *rollout.State) bool { return st.Weight == 20 && st.Status == rollout.StatusPaused }, 20},
		{[]string{"abort", "--reason", "end of test"}, func(st *rollout.State) bool { return st.Status == rollout.StatusAborted }, 0},
	}
	for _, s := range steps {
		// Counted in the controller's looks, not in wall time: on a busy
		// machine both slow down together.
		sent := waitState(t, state, func(*rollout.State) bool { return true })
		code, stdout, stderr := runCLI(t, append([]string{"rollout", "--state", state}, s.args...)...)
		if code != 0 || !strings.Contains(stdout, "queued") {
			t.Fatalf("%v: exit %d %q %q", s.args, code, stdout, stderr)
		}
		st := waitState(t, state, s.want)
		if looks := st.Looks - sent.Looks; looks > 2 {
			t.Errorf("%v took effect %d looks after it was queued, want at the next one", s.args, looks)
		}
		deadline := time.Now().Add(5 * time.Second)
		for m.Weight() != s.weight && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if m.Weight() != s.weight {
			t.Errorf("%v: mirror weight %g, want %g", s.args, m.Weight(), s.weight)
		}
	}
	code, stdout, _ := runCLI(t, "rollout", "--state", state, "history")
	for _, want := range []string{"paused", "resumed", "promoted by an operator: confident", "weight_set", "aborted", "end of test"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("history (exit %d) lacks %q:\n%s", code, want, stdout)
		}
	}
}

func TestRolloutBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nsteps: [10, 120]\n"), 0o644)
	unknownKey := filepath.Join(dir, "typo.yaml")
	os.WriteFile(unknownKey, []byte("name: x\nsteps: [10, 100]\nintervall: 1s\n"), 0o644)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(longStepPlan), 0o644)
	state := filepath.Join(dir, "cutover.db")
	// A state file holding one rollout, with no controller running.
	j, err := rollout.OpenJournal(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	j.Save(context.Background(), &rollout.State{Rollout: "canary", Plan: longStepPlan, Status: rollout.StatusProgressing, Weight: 10}, nil, nil)
	j.Close()

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"weight over 100", []string{"plan", "--plan", bad}, "plan line 2: step weight 120"},
		{"unknown key", []string{"plan", "--plan", unknownKey}, `plan line 3: unknown key "intervall"`},
		{"missing plan", []string{"plan", "--plan", filepath.Join(dir, "none.yaml")}, "no such file"},
		{"unknown rollout", []string{"--state", state, "--rollout", "nope", "status"}, `unknown rollout "nope"`},
		{"set-weight 101", []string{"--state", state, "set-weight", "101", "--reason", "x"}, "want a number from 0 to 100"},
		{"no reason", []string{"--state", state, "pause"}, "--reason is required"},
		{"no state file", []string{"--state", filepath.Join(dir, "none.db"), "status"}, "state file"},
		{"bad backend", []string{"run", "--plan", good, "--mirror", "http://127.0.0.1:1", "--backend", "ftp"}, `--backend "ftp"`},
		{"bad mirror", []string{"run", "--plan", good, "--mirror", "localhost"}, "not an http(s) admin URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectCLI(t, append([]string{"rollout"}, tt.args...), 2, "", tt.want)
		})
	}
	code, stdout, _ := runCLI(t, "rollout", "plan", "--plan", good)
	if code != 0 || !strings.Contains(stdout, `rollout "canary": 3 steps`) || !strings.Contains(stdout, "50%") {
		t.Errorf("plan: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLI(t, "rollout", "--state", state, "pause", "--reason", "no controller")
	if code != 0 || !strings.Contains(stdout, "pause applied: paused") {
		t.Errorf("pause without a controller: exit %d %q, want it applied at once", code, stdout)
	}
}

// With --fail-safe-after, mirrors whose controller died fall back to 0.
func TestRolloutFailSafe(t *testing.T) {
	t.Parallel()
	admin, m, token := mirrorForRollout(t)
	dir := t.TempDir()
	plan, state := filepath.Join(dir, "plan.yaml"), filepath.Join(dir, "cutover.db")
	os.WriteFile(plan, []byte(longStepPlan), 0o644)
	c := startController(t, "--plan", plan, "--mirror", admin, "--admin-token-file", token, "--state", state, "--fail-safe-after", "1s")
	waitState(t, state, func(st *rollout.State) bool { return st.Looks >= 2 })
	if w := m.Weight(); w != 10 {
		t.Fatalf("weight %g while the controller runs, want 10", w)
	}
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	time.Sleep(1500 * time.Millisecond)
	if w := m.Weight(); w != 0 {
		t.Errorf("weight %g 1.5s after the controller died with a 1s fail-safe, want 0", w)
	}
}

// SIGTERM mid-rollout: exit 3 (never 0), the state says interrupted (and
// counts steps from 1 in JSON), and a restart resumes the same step with
// its hold kept.
func TestRolloutSIGTERMIsInterruptedAndResumes(t *testing.T) {
	t.Parallel()
	admin, m, token := mirrorForRollout(t)
	dir := t.TempDir()
	plan, state := filepath.Join(dir, "plan.yaml"), filepath.Join(dir, "cutover.db")
	os.WriteFile(plan, []byte(longStepPlan), 0o644)
	args := []string{"--plan", plan, "--mirror", admin, "--admin-token-file", token, "--state", state}

	first := startController(t, args...)
	before := waitState(t, state, func(st *rollout.State) bool { return st.Looks >= 2 })
	first.Process.Signal(syscall.SIGTERM)
	err := first.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("SIGTERM: %v, want exit code 3", err)
	}
	// The fail-safe lease is on by default (three intervals of 300ms).
	time.Sleep(1500 * time.Millisecond)
	if w := m.Weight(); w != 0 {
		t.Errorf("weight %g 1.5s after the controller stopped, want 0 (the default fail-safe)", w)
	}
	code, stdout, _ := runCLI(t, "rollout", "--state", state, "status")
	if code != 0 || !strings.Contains(stdout, "interrupted") {
		t.Errorf("status after SIGTERM (exit %d):\n%s\nwant it to say interrupted", code, stdout)
	}
	code, stdout, _ = runCLI(t, "rollout", "--state", state, "status", "--json")
	var js struct {
		Status string `json:"status"`
		Step   int    `json:"step"`
	}
	if err := json.Unmarshal([]byte(stdout), &js); code != 0 || err != nil || js.Status != rollout.StatusInterrupted || js.Step != 1 {
		t.Errorf("status --json (exit %d, %v): %s; want status interrupted at step 1", code, err, stdout)
	}

	startController(t, args...)
	after := waitState(t, state, func(st *rollout.State) bool { return st.Status == rollout.StatusProgressing && st.Looks > before.Looks })
	if after.Step != before.Step || !after.StepStarted.Equal(before.StepStarted) || m.Weight() != 10 {
		t.Errorf("after restart: step %d started %v at %g%%; before: step %d started %v: want the same step at 10%%, hold kept",
			after.Step+1, after.StepStarted, m.Weight(), before.Step+1, before.StepStarted)
	}
	code, stdout, _ = runCLI(t, "rollout", "--state", state, "history")
	if code != 0 || !strings.Contains(stdout, "interrupted") || !strings.Contains(stdout, "resuming progressing after an interruption") {
		t.Errorf("history (exit %d):\n%s", code, stdout)
	}
}
