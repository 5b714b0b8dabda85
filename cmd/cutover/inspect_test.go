package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestInspect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("just some text\n"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, []byte("\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x01\x00\x00\x00"), 0o644)
	curl := filepath.Join("..", "..", "replay", "testdata", "curl.pcap")
	whole, err := os.ReadFile(curl)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap") // as tcpdump leaves a capture when killed mid-write
	os.WriteFile(cut, whole[:len(whole)*2/3], 0o644)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		golden     string // stdout compared with testdata/<golden>
		wantStdout string
		wantStderr string
	}{
		{"json lines", []string{"inspect", "--json", curl}, 0, "inspect-curl.jsonl", "", ""},
		{"table", []string{"inspect", curl}, 0, "", "19 requests (19 with a recorded response) in 12 TCP streams", ""},
		{"no http", []string{"inspect", empty}, 0, "", "no HTTP requests found", ""},
		{"not a capture", []string{"inspect", notCapture}, 2, "", "", notCapture + ": offset 0: not a capture"},
		// The requests before the cut are listed, and the cut is an error.
		{"cut short", []string{"inspect", cut}, 2, "", "GET     /api/items/1", "file ends inside a packet record (truncated capture)"},
		{"missing file", []string{"inspect", filepath.Join(dir, "nope.pcap")}, 2, "", "", "no such file"},
		{"no args", []string{"inspect"}, 2, "", "", "requires at least 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout := expectCLI(t, tt.args, tt.wantCode, tt.wantStdout, tt.wantStderr)
			if tt.golden == "" {
				return
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				os.WriteFile(path, []byte(stdout), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), stdout); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}
