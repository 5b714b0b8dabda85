package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	t.Parallel()
	failing := filepath.Join("..", "..", "reports", "testdata", "injected.summary.json")
	dir := t.TempDir()
	passing := filepath.Join(dir, "pass.json")
	if err := os.WriteFile(passing, []byte(`{"schema":"cutover.summary/v1","source":"mirror","counts":{"requests":0},"endpoints":[],"verdict":"pass","reasons":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	malformed := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(malformed, []byte(`{"schema":"other"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		in, format string
		wantCode   int
		wantFile   string // substring of the written file
		wantStderr string
	}{
		{"html fail", failing, "html", 1, "GET /api/users/{id}", ""},
		{"md fail", failing, "md", 1, "### cutover: FAIL (replay)", ""},
		{"junit fail", failing, "junit", 1, `<testsuite name="cutover replay" tests="4" failures="4"`, ""},
		{"json fail", failing, "json", 1, `"schema": "cutover.summary/v1"`, ""},
		{"html pass", passing, "html", 0, "PASS", ""},
		{"bad format", failing, "pdf", 2, "", `invalid --format "pdf"`},
		{"missing input", filepath.Join(dir, "none.json"), "md", 2, "", "read summary"},
		{"malformed input", malformed, "md", 2, "", "schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "report")
			code, _, stderr := runCLI(t, "report", "--in", tt.in, "--format", tt.format, "-o", out)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if tt.wantStderr != "" {
				if !strings.Contains(stderr, tt.wantStderr) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
					t.Errorf("stderr = %q, want one line containing %q", stderr, tt.wantStderr)
				}
				if _, err := os.Stat(out); err == nil {
					t.Errorf("a failed report wrote %s", out)
				}
				return
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.wantFile) {
				t.Errorf("report does not contain %q", tt.wantFile)
			}
		})
	}
}
