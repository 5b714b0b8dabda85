package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process as main would, returning the exit code and
// what it printed.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// expectCLI runs the CLI and checks the contract of DESIGN.md: the exit
// code, what stdout contains, and at most one line on stderr containing
// wantStderr. It returns stdout for further checks.
func expectCLI(t *testing.T, args []string, wantCode int, wantStdout, wantStderr string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	if code != wantCode {
		t.Errorf("%v: exit code = %d, want %d (stderr %q)", args, code, wantCode, stderr)
	}
	if !strings.Contains(stdout, wantStdout) {
		t.Errorf("%v: stdout = %q, want it to contain %q", args, stdout, wantStdout)
	}
	if !strings.Contains(stderr, wantStderr) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("%v: stderr = %q, want one line containing %q", args, stderr, wantStderr)
	}
	return stdout
}

func TestRootCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring
		wantStderr string // substring; also: stderr is one line when set
	}{
		{"help", []string{"--help"}, 0, "cutover proves that a new HTTP proxy", ""},
		{"help lists testbed", []string{"--help"}, 0, "testbed", ""},
		{"version", []string{"version"}, 0, "cutover ", ""},
		{"completion", []string{"completion", "bash"}, 0, "bash completion", ""},
		{"unknown flag", []string{"--bogus"}, 2, "", "cutover: unknown flag: --bogus"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"bad log level", []string{"--log-level", "loud", "version"}, 2, "", `invalid --log-level "loud"`},
		{"bad log format", []string{"--log-format", "xml", "version"}, 2, "", `invalid --log-format "xml"`},
		{"version takes no args", []string{"version", "extra"}, 2, "", "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectCLI(t, tt.args, tt.wantCode, tt.wantStdout, tt.wantStderr)
		})
	}
}

func TestNewLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := newLogger(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("hidden")
	log.Warn().Str("k", "v").Msg("shown")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"message":"shown"`) {
		t.Errorf("json logger at warn wrote %q", got)
	}
	buf.Reset()
	log, err = newLogger(&buf, "info", "")
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("hello")
	if got := buf.String(); !strings.HasPrefix(got, "{") {
		t.Errorf("default format to a non-terminal should be json, got %q", got)
	}
}
