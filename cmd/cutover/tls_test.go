package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testbed"
)

func TestTLSFlags(t *testing.T) {
	t.Parallel()
	capture := filepath.Join("..", "..", "replay", "testdata", "tls.pcap")
	keys := filepath.Join("..", "..", "replay", "testdata", "tls.keys.log")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.log")
	os.WriteFile(bad, []byte("# curl\nCLIENT_RANDOM 00 11\n"), 0o644)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"decrypted", []string{"inspect", "--tls-keylog", keys, capture}, 0, "49 requests (49 with a recorded response) in 13 TCP streams", ""},
		{"h2 listed", []string{"inspect", "--json", "--tls-keylog", keys, capture}, 0, `"proto":"HTTP/2.0"`, ""},
		{"without keys", []string{"inspect", capture}, 0, "7 requests (7 with a recorded response) in 13 TCP streams, 303 packets; skipped: encrypted=6", ""},
		{"bad key log", []string{"inspect", "--tls-keylog", bad, capture}, 2, "", "--tls-keylog: " + bad + ": key log line 2: client random of 2 hex digits, want 64"},
		{"missing key log", []string{"inspect", "--tls-keylog", filepath.Join(dir, "nope"), capture}, 2, "", "no such file"},
		{"bad upstream proto", []string{"replay", "--legacy", "http://127.0.0.1:1", "--candidate", "http://127.0.0.1:1", "--upstream-proto", "h3", capture}, 2, "", "invalid --upstream-proto: unknown protocol \"h3\": want h1, h2 or auto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout := expectCLI(t, tt.args, tt.wantCode, tt.wantStdout, tt.wantStderr)
			if b, _ := os.ReadFile(keys); tt.wantCode == 0 {
				for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
					f := strings.Fields(line)
					if strings.Contains(stdout, f[2][:16]) {
						t.Fatal("a secret of the key log is in the output")
					}
				}
			}
		})
	}
}

// TestReplayAndTapDecrypted runs replay and tap on the TLS capture with its
// key log against the test bed: every request is read and compared.
func TestReplayAndTapDecrypted(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	capture := filepath.Join("..", "..", "replay", "testdata", "tls.pcap")
	keys := filepath.Join("..", "..", "replay", "testdata", "tls.keys.log")
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"replay", []string{"replay", "--tls-keylog", keys, "--unsafe", "--speed", "max", "--legacy", bed.Legacy.URL, "--candidate", bed.Candidate.URL, "--upstream-proto", "auto", capture}},
		{"tap", []string{"tap", "--tls-keylog", keys, "--unsafe", "--read", capture, "--candidate", bed.Candidate.URL}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "summary.json")
			code, _, stderr := runCLI(t, append(tt.args, "--json", out)...)
			if code == 2 {
				t.Fatalf("exit 2: %s", stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var s struct {
				Counts struct {
					Requests, Compared int
					Skipped            map[string]int
				}
			}
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if s.Counts.Requests != 49 || s.Counts.Compared != 49 {
				t.Errorf("counts %+v: want all 49 requests of the capture compared", s.Counts)
			}
		})
	}
}
