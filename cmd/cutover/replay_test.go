package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// TestReplay runs `cutover replay` on a real capture against the test bed
// and checks what a user and a CI job see: the exit code, the summary, the
// one-line error; and the summary JSON.
func TestReplay(t *testing.T) {
	t.Parallel()
	// The candidate drops a header on every answer: a difference on every
	// exchange, whatever the timing.
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true, Candidate: testbed.CandidateConfig{
		Switches: testbed.Switches{DropHeader: "Cache-Control"}}})
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, testbed.RulesYAML(), 0o644)
	capture := filepath.Join("..", "..", "replay", "testdata", "wrk.pcap.gz")
	curl, err := os.ReadFile(filepath.Join("..", "..", "replay", "testdata", "curl.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap") // as tcpdump leaves a capture when killed mid-write
	os.WriteFile(cut, curl[:len(curl)*2/3], 0o644)
	summary := filepath.Join(dir, "summary.json")
	common := []string{"--speed", "max", "--progress", "off", "--rules", rules}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"regressed", append([]string{"replay", capture, "--legacy", bed.Legacy.URL, "--candidate", bed.Candidate.URL}, common...),
			1, "header.Cache-Control", ""},
		{"cut short", append([]string{"replay", cut, "--legacy", bed.Legacy.URL, "--candidate", bed.Secondary.URL, "--unsafe"}, common...),
			2, "requests: ", "file ends inside a packet record (truncated capture)"},
		{"unreachable", []string{"replay", capture, "--legacy", "http://127.0.0.1:1", "--candidate", bed.Secondary.URL},
			2, "", "--legacy: "},
		{"bad speed", []string{"replay", capture, "--legacy", bed.Legacy.URL, "--candidate", bed.Secondary.URL, "--speed", "0"},
			2, "", `invalid --speed "0"`},
		{"no candidate", []string{"replay", capture, "--legacy", bed.Legacy.URL}, 2, "", "--candidate and --legacy"},
		{"bad filter", []string{"replay", capture, "--legacy", bed.Legacy.URL, "--candidate", bed.Secondary.URL, "--filter", "colour=red"},
			2, "", "invalid --filter"},
		{"missing file", []string{"replay", filepath.Join(dir, "nope.pcap"), "--legacy", bed.Legacy.URL, "--candidate", bed.Secondary.URL},
			2, "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectCLI(t, tt.args, tt.wantCode, tt.wantStdout, tt.wantStderr)
		})
	}
	// Two NGINX instances of the same edge answer alike: the secondary
	// stands in for a faithful candidate, and the run passes (exit 0).
	// As in TestReplayCalibrationIdenticalSides, 4 exchanges in flight: at
	// the default 64 both single-worker instances are saturated on two
	// cores and their latency is the scheduler's (a CI run: one ×1.21 at
	// p50). A run failed on latency alone is taken again, up to three, as
	// there; any difference fails at once, and a bias of the replay's own
	// would fail all three.
	faithful := append([]string{"replay", capture, "--legacy", bed.Legacy.URL, "--candidate", bed.Secondary.URL, "--json", summary, "--concurrency", "4"}, common...)
	for attempt := 1; ; attempt++ {
		code, stdout, stderr := runCLI(t, faithful...)
		s := readSummary(t, summary)
		if s.Counts.Requests != 463 || s.Counts.Compared != 463 || s.Counts.Different != 0 {
			t.Fatalf("faithful: counts %+v, want 463 compared, none different (exit %d, stderr %q)", s.Counts, code, stderr)
		}
		if code == 0 && s.Verdict == diff.VerdictPass && strings.Contains(stdout, "requests: 463 = skipped 0 + compared 463") && stderr == "" {
			break
		}
		if code != 1 || s.LatencyVerdict.Status != diff.LatencyRegression || attempt == 3 {
			t.Fatalf("faithful, attempt %d: exit %d, verdict %q %v, stderr %q; want exit 0, pass", attempt, code, s.Verdict, s.Reasons, stderr)
		}
		t.Logf("faithful, attempt %d: failed on latency alone (%v); again", attempt, s.Reasons)
	}
}

// readSummary reads a summary JSON a run wrote.
func readSummary(t *testing.T, path string) diff.Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s diff.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}
