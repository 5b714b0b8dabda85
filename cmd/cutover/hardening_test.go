package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// Bad values are refused before anything runs: exit 2, one line naming the
// flag. Output paths that cannot be written are found before the run.
func TestBadFlagsExitTwoNamingTheFlag(t *testing.T) {
	t.Parallel()
	cap := filepath.Join("..", "..", "replay", "testdata", "any.pcap")
	noDir := filepath.Join(t.TempDir(), "missing", "out.json")
	empty := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mirror := []string{"mirror", "--legacy", "http://127.0.0.1:1", "--candidate", "http://127.0.0.1:1"}
	replay := []string{"replay", cap, "--against-recorded", "--candidate", "http://127.0.0.1:1"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"mirror queue 0", append(mirror, "--queue", "0"), "invalid --queue 0"},
		{"mirror workers -5", append(mirror, "--workers", "-5"), "invalid --workers -5"},
		{"mirror max-body -1", append(mirror, "--max-body", "-1"), "invalid --max-body -1"},
		{"mirror shadow-timeout 0", append(mirror, "--shadow-timeout", "0"), "invalid --shadow-timeout 0s"},
		{"mirror idle-timeout 0", append(mirror, "--idle-timeout", "0"), "invalid --idle-timeout 0s"},
		{"mirror memory-limit too small", append(mirror, "--memory-limit", "1000"), "invalid --memory-limit 1000: must be at least 64MiB"},
		{"mirror body-budget over half the memory", append(mirror, "--memory-limit", "128MiB", "--body-budget", "67108864"), "invalid --body-budget 64MiB: must be at most (--memory-limit - 32MiB) / 2 = 48MiB"},
		{"mirror body-budget in MB", append(mirror, "--body-budget", "48MB"), `invalid argument "48MB" for "--body-budget" flag: want a whole number of bytes, optionally with a unit`},
		{"mirror empty token file", append(mirror, "--admin-token-file", empty), "--admin-token-file " + empty + " is empty"},
		{"nginx-split empty token file", []string{"nginx-split", "--candidate", "10.0.0.2:80", "--legacy-upstream", "legacy", "--token-file", empty}, "--token-file " + empty + " is empty"},
		{"mirror sample NaN", append(mirror, "--sample", "NaN"), "invalid --sample NaN"},
		{"mirror unwritable json", append(mirror, "--json", noDir), "--json " + noDir},
		{"mirror report is a directory", append(mirror, "--report", t.TempDir()), "is a directory"},
		{"replay concurrency 0", append(replay, "--concurrency", "0"), "invalid --concurrency 0"},
		{"replay rate -5", append(replay, "--rate", "-5"), "invalid --rate -5"},
		{"replay speed NaN", append(replay, "--speed", "NaN"), `invalid --speed "NaN"`},
		{"replay speed Inf", append(replay, "--speed", "+Inf"), `invalid --speed "+Inf"`},
		{"replay filter class", append(replay, "--filter", "path=["), "invalid --filter"},
		{"replay unwritable json", append(replay, "--json", noDir), "--json " + noDir},
		{"inspect max-body -1", []string{"inspect", cap, "--max-body", "-1"}, "invalid --max-body -1"},
		{"demo duration -1s", []string{"demo", "--duration", "-1s"}, "invalid --duration -1s"},
		{"demo weight 101", []string{"demo", "--weight", "101"}, "invalid --weight 101"},
		{"testbed unknown switch", []string{"testbed", "up", "--switches", `{"bogus":1}`}, `unknown field "bogus"`},
		{"rollout unknown subcommand", []string{"rollout", "stauts"}, `unknown command "stauts" for "cutover rollout"`},
		{"testbed unknown subcommand", []string{"testbed", "down"}, `unknown command "down" for "cutover testbed"`},
		{"report unwritable output", []string{"report", "--in", cap, "--format", "md", "-o", noDir}, "-o " + noDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectCLI(t, tt.args, 2, "", tt.want)
		})
	}
}

// writeSummary writes a summary JSON with the given counts.
func writeSummary(t *testing.T, path string, c diff.Counts) {
	t.Helper()
	s := diff.Summary{Schema: diff.SummarySchema, Source: "replay", Counts: c, Verdict: diff.VerdictPass}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// report refuses a summary whose counts break the contract, naming the
// count, and writes its files with the umask's mode.
func TestReportRefusesBrokenCountsAndRespectsTheUmask(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name   string
		counts diff.Counts
		want   string
	}{
		{"do not add up", diff.Counts{Requests: 10, Compared: 4}, "counts do not add up: 10 requests"},
		{"negative compared", diff.Counts{Requests: -2, Compared: -2}, "counts.requests is negative (-2)"},
		{"negative skipped", diff.Counts{Requests: 0, Compared: 3, Skipped: map[string]int64{"unsafe": -3}}, "counts.skipped.unsafe is negative (-3)"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := filepath.Join(dir, fmt.Sprintf("bad%d.json", i))
			writeSummary(t, in, tt.counts)
			out := filepath.Join(dir, fmt.Sprintf("bad%d.md", i))
			expectCLI(t, []string{"report", "--in", in, "--format", "md", "-o", out}, 2, "", tt.want)
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written for a refused summary", out)
			}
		})
	}

	in := filepath.Join(dir, "good.json")
	writeSummary(t, in, diff.Counts{Requests: 3, Compared: 3})
	for _, tt := range []struct {
		umask string
		want  os.FileMode
	}{{"077", 0o600}, {"022", 0o644}, {"002", 0o664}} {
		t.Run("umask "+tt.umask, func(t *testing.T) {
			out := filepath.Join(dir, "good-"+tt.umask+".html")
			// The umask is the process's: set it in a child, not here.
			cmd := exec.Command("sh", "-c", `umask `+tt.umask+` && exec "$0" "$@"`, os.Args[0], "report", "--in", in, "-o", out)
			cmd.Env = append(os.Environ(), "CUTOVER_TEST_MAIN=1")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("report: %v: %s", err, b)
			}
			st, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != tt.want {
				t.Errorf("mode %v under umask %s, want %v", got, tt.umask, tt.want)
			}
		})
	}
}

// A read-only command never writes in the file it is given, and says when
// the file is not a cutover state file.
func TestRolloutStatusNeverWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database at all\n"), 0o600)

	for _, path := range []string{other, text} {
		for _, sub := range []string{"status", "history"} {
			t.Run(filepath.Base(path)+" "+sub, func(t *testing.T) {
				before, _ := os.ReadFile(path)
				expectCLI(t, []string{"rollout", "--state", path, sub}, 2, "", "not a cutover state file")
				after, _ := os.ReadFile(path)
				if string(before) != string(after) {
					t.Errorf("%s changed by a read-only command", path)
				}
				for _, suffix := range []string{"-wal", "-journal"} {
					if _, err := os.Stat(path + suffix); err == nil {
						t.Errorf("%s%s created by a read-only command", path, suffix)
					}
				}
			})
		}
	}
	db, _ = sql.Open("sqlite", other)
	defer db.Close()
	var n int
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table'`).Scan(&n)
	if n != 1 {
		t.Errorf("%d tables in %s after status, want its 1", n, other)
	}
}

// A replay against recorded answers, as fast as it goes, always writes its
// summary: no figure it holds is one JSON cannot encode (NaN, ±Inf).
func TestReplayAgainstRecordedAlwaysWritesItsSummary(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	capture := filepath.Join("..", "..", "replay", "testdata", "wrk.pcap.gz")
	dir := t.TempDir()
	for i := range 20 {
		out := filepath.Join(dir, fmt.Sprintf("run%d.json", i))
		code, _, stderr := runCLI(t, "replay", capture, "--against-recorded", "--candidate", bed.Candidate.URL,
			"--speed", "max", "--progress", "off", "--json", out)
		if code != 0 && code != 1 {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("run %d: no summary: %v", i, err)
		}
		s, err := diff.ParseSummary(data)
		if err != nil || s.Counts.Requests == 0 {
			t.Fatalf("run %d: summary %v, %d requests", i, err, s.Counts.Requests)
		}
	}
}

// Credentials never reach an output: not the admin API's /summary, the
// summary JSON, the HTML, Markdown and JUnit reports, nor the logs; and the
// admin API's reads need the token.
func TestSecretsRedactedInEveryOutput(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Candidate: testbed.CandidateConfig{Switches: testbed.Switches{
		ChangeField: &testbed.FieldChange{Path: "/echo", Field: "uri", Value: json.RawMessage(`"/elsewhere"`)},
	}}})
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("admin-t0ken\n"), 0o600)
	jsonPath, htmlPath := filepath.Join(dir, "summary.json"), filepath.Join(dir, "report.html")
	cmd, addr, admin, stderr := startCLI(t, "mirror", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
		"--legacy", bed.Legacy.URL, "--candidate", bed.Candidate.URL, "--admin-token-file", token,
		"--json", jsonPath, "--report", htmlPath, "--log-level", "debug")

	secrets := []string{"QS-T0KEN", "QS-ACCESS", "QS-PASSW0RD", "QS-APIKEY", "QS-SIG", "HDR-APIKEY", "HDR-BEARER", "HDR-COOKIE", "HDR-UPSTREAM"}
	for i := range 3 {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/echo?page=%d&token=QS-T0KEN&access_token=QS-ACCESS&password=QS-PASSW0RD&api_key=QS-APIKEY&X-Amz-Signature=QS-SIG", addr, i), nil)
		req.Header.Set("X-Api-Key", "HDR-APIKEY")
		req.Header.Set("Authorization", "Bearer HDR-BEARER")
		req.Header.Set("Cookie", "sid=HDR-COOKIE")
		req.Header.Set("X-Upstream-Token", "HDR-UPSTREAM")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	get := func(withToken bool) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+admin+"/summary", nil)
		if withToken {
			req.Header.Set("Authorization", "Bearer admin-t0ken")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(false); code != http.StatusUnauthorized {
		t.Errorf("GET /summary without the token = %d, want 401", code)
	}
	var live string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, live = get(true); strings.Contains(live, `"different": 3`) {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	outputs := map[string]string{"GET /summary": live, "stderr": stderr.String()}
	for _, p := range []string{jsonPath, htmlPath} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outputs[filepath.Base(p)] = string(b)
	}
	for _, format := range []string{"md", "junit"} {
		out := filepath.Join(dir, "report."+format)
		if code, _, e := runCLI(t, "report", "--in", jsonPath, "--format", format, "-o", out); code > 1 {
			t.Fatalf("report --format %s: %s", format, e)
		}
		b, _ := os.ReadFile(out)
		outputs["report."+format] = string(b)
	}
	if !strings.Contains(outputs["summary.json"], "page=0") || !strings.Contains(outputs["summary.json"], diff.Redacted) {
		t.Fatalf("the summary holds no redacted sample of the requests: the test proves nothing:\n%s", outputs["summary.json"])
	}
	for name, text := range outputs {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				i := strings.Index(text, s)
				t.Errorf("%s shows the secret %s: …%s…", name, s, text[max(0, i-200):min(len(text), i+50)])
			}
		}
	}
}

// Idle keep-alive connections are closed after --idle-timeout, so that with
// a low descriptor limit idle clients cannot make the mirror refuse new
// ones for good.
func TestIdleConnectionsClosedUnderALowDescriptorLimit(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	const limit, idle = 64, 100 // more idle clients than descriptors
	args := []string{"mirror", "--listen", "127.0.0.1:0", "--admin", "off", "--legacy", bed.Legacy.URL,
		"--candidate", bed.Candidate.URL, "--idle-timeout", "1s", "--read-header-timeout", "1s", "--workers", "2"}
	cmd := exec.Command("sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, limit), os.Args[0]}, args...)...)
	cmd.Env = append(os.Environ(), "CUTOVER_TEST_MAIN=1")
	pipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-found:
	case <-time.After(20 * time.Second):
		t.Fatal("mirror did not start")
	}

	// Each client asks once and then keeps its connection open, idle.
	closed := make(chan bool, idle)
	var wg sync.WaitGroup
	for range idle {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				closed <- false
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "GET /api/items/1 HTTP/1.1\r\nHost: x\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, err = io.Copy(io.Discard, c) // ends when the mirror closes
			closed <- err == nil
		})
	}
	wg.Wait()
	close(closed)
	n := 0
	for ok := range closed {
		if ok {
			n++
		}
	}
	if n != idle {
		t.Errorf("the mirror closed %d of %d idle connections within 60 s", n, idle)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/items/2", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a new client after the idle ones: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a new client got %d", resp.StatusCode)
	}
}
