package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
