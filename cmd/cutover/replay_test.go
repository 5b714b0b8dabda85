package main

import (
	"encoding/json"
	"os"
	"path/filepath"
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
		// Two NGINX instances of the same edge answer alike: the secondary
		// stands in for a faithful candidate.
		{"faithful", append([]string{"replay", capture, "--legacy", bed.Legacy.URL, "--candidate", bed.Secondary.URL,
			"--json", summary}, common...), 0, "requests: 463 = skipped 0 + compared 463", ""},
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
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var s diff.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Counts.Requests != 463 || s.Counts.Compared != 463 || s.Counts.Different != 0 || s.Verdict != diff.VerdictPass {
		t.Errorf("summary JSON: counts %+v, verdict %q %v; want 463 compared, none different, pass", s.Counts, s.Verdict, s.Reasons)
	}
}
