package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateDiffGolden = flag.Bool("update-diff", false, "rewrite the golden files of cutover diff under diff/testdata/cli/")

// diffTestdata holds the fixtures and golden files of `cutover diff`.
const diffTestdata = "../../diff/testdata/cli"

func TestDiffCommand(t *testing.T) {
	t.Parallel()
	td := func(name string) string { return filepath.Join(diffTestdata, name) }
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		golden     string // file under diffTestdata holding the whole stdout
		wantStderr string // exact, after the "cutover: " prefix
	}{
		{name: "different", args: []string{td("legacy.http"), td("candidate.http")}, wantCode: 1, golden: "different.golden"},
		{name: "different under rules", args: []string{td("legacy.http"), td("candidate.http"), "--rules", td("rules.yaml")},
			wantCode: 1, golden: "rules.golden"},
		{name: "same after normalisation", args: []string{td("legacy.http"), td("same.http")}, wantCode: 0, golden: "same.golden"},
		{name: "json", args: []string{"--json", td("legacy.http"), td("candidate.http"), "--rules", td("rules.yaml")},
			wantCode: 1, golden: "rules.golden.json"},
		{name: "json same", args: []string{"--json", td("legacy.http"), td("same.http")}, wantCode: 0, golden: "same.golden.json"},
		{name: "bare bodies", args: []string{td("legacy-body.json"), td("candidate-body.json")}, wantCode: 1, golden: "bodies.golden"},
		{name: "missing legacy", args: []string{td("nope.http"), td("same.http")}, wantCode: 2,
			wantStderr: "read legacy: open " + td("nope.http") + ": no such file or directory"},
		{name: "missing rules", args: []string{td("legacy.http"), td("same.http"), "--rules", td("nope.yaml")}, wantCode: 2,
			wantStderr: "read rules: open " + td("nope.yaml") + ": no such file or directory"},
		{name: "rules error names the line", args: []string{td("legacy.http"), td("same.http"), "--rules", td("bad-rules.yaml")},
			wantCode: 2, wantStderr: td("bad-rules.yaml") + `: rules line 4: unknown key "unorderd"`},
		{name: "bare body against an answer", args: []string{td("legacy.http"), td("bad-rules.yaml")}, wantCode: 1, golden: "bare.golden"},
		{name: "one file", args: []string{td("legacy.http")}, wantCode: 2, wantStderr: "accepts 2 arg(s), received 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, append([]string{"diff"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if tt.wantStderr != "" {
				if diff := cmp.Diff("cutover: "+tt.wantStderr+"\n", stderr); diff != "" {
					t.Errorf("stderr (-want +got):\n%s", diff)
				}
			} else if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if tt.golden == "" {
				return
			}
			path := filepath.Join(diffTestdata, tt.golden)
			if *updateDiffGolden {
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-diff to create it)", err)
			}
			if diff := cmp.Diff(string(want), stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiffCommandMalformed checks that an answer curl cannot have written
// stops the command with exit 2 and one line.
func TestDiffCommandMalformed(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.http")
	if err := os.WriteFile(bad, []byte("HTTP/1.1 2xx OK\r\n\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "diff", filepath.Join(diffTestdata, "legacy.http"), bad)
	want := "cutover: parse candidate " + bad + `: bad status line "HTTP/1.1 2xx OK": want HTTP/<version> <3-digit code> [reason]` + "\n"
	if code != 2 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line: %q", stderr)
	}
}
