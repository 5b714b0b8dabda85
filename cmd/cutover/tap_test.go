package main

import (
	"context"
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

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/rollout"
)

func TestTapBadInput(t *testing.T) {
	t.Parallel()
	notCapture := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"tap", "--candidate", "http://127.0.0.1:1"}, "give one of --interface and --read"},
		{"two sources", []string{"tap", "--interface", "lo", "--read", "-", "--candidate", "http://127.0.0.1:1"}, "give one of --interface and --read"},
		{"port and bpf", []string{"tap", "--interface", "lo", "--port", "80", "--bpf", "tcp", "--candidate", "http://127.0.0.1:1"}, "not both"},
		{"bad port", []string{"tap", "--interface", "lo", "--port", "80,x", "--candidate", "http://127.0.0.1:1"}, "invalid --port"},
		{"no candidate", []string{"tap", "--read", notCapture}, "--candidate is required"},
		{"bad candidate", []string{"tap", "--read", notCapture, "--candidate", "ftp://x"}, "invalid --candidate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("exit %d, stderr %q: want exit 2 and one line naming %q", code, stderr, tt.want)
			}
		})
	}
}

// TestTapReadNotACapture: a stream that is not a capture is a one-line
// error, exit 2, also when the candidate is up.
func TestTapReadNotACapture(t *testing.T) {
	bed := testbed.StartForTest(t, testbed.Config{})
	notCapture := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644)
	code, _, stderr := runCLI(t, "tap", "--read", notCapture, "--candidate", bed.Candidate.URL)
	if code != 2 || !strings.Contains(stderr, "not a capture") {
		t.Errorf("exit %d, stderr %q: want exit 2 naming the problem", code, stderr)
	}
}

const tapRules = `
ignore:
  - header.X-Request-Id
  - header.X-Edge-Time
  - body.generated_at
  - body.request_id
`

// tapPlan gates on the tap with every gate on: without a secondary the tap
// judges no latency (legacy is seen on the wire, the candidate as sent),
// so the latency gates are not applicable there, rather than waiting for
// ever. At 100% legacy serves nothing for the tap to see: that step is
// held, not judged on differences or errors.
const tapPlan = `name: canary
steps:
  - 10
  - 50
  - weight: 100
    gates: {differences: {disabled: true}, error_rate: {disabled: true}}
hold: 3s
min_requests: 20
interval: 300ms
max_duration: 3m
gates:
  differences: {min_compared: 20}
`

// TestRolloutGatesOnTap runs `cutover tap` live on loopback with nothing
// in the path: clients talk to an HAProxy front door in front of the real
// NGINX/Lua legacy and a real NGINX/Lua candidate, the rollout moves
// HAProxy's weight (its runtime API) and its only measurement source is
// the tap's admin API, which sees legacy's share. A candidate whose
// answers are legacy's is promoted (exit 0), its latency gates
// not_applicable at every look, never holding or failing it; a candidate
// that changes one endpoint's answers is rolled back (exit 1) by the
// differences gate, HAProxy's candidate weight back to 0. The same holds
// when the rollout reads the tap only through a real Prometheus scraping
// its /metrics (--source prometheus:URL), as a fleet of taps would be.
func TestRolloutGatesOnTap(t *testing.T) {
	// The one change of the faithful candidate is on a path the clients
	// never ask for.
	faithful := &testbed.FieldChange{Path: "/never-asked", Field: "price", Value: json.RawMessage("0")}
	changed := &testbed.FieldChange{Path: "/api/items/7", Field: "price", Value: json.RawMessage("999")}
	for _, tt := range []struct {
		name       string
		change     *testbed.FieldChange
		prometheus bool
		wantCode   int
	}{
		{"faithful", faithful, false, 0},
		{"answers change", changed, false, 1},
		{"faithful through prometheus", faithful, true, 0},
		{"answers change through prometheus", changed, true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) { rolloutOnTap(t, tt.change, tt.prometheus, tt.wantCode) })
	}
}

func rolloutOnTap(t *testing.T, change *testbed.FieldChange, viaPrometheus bool, wantCode int) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("live capture needs root")
		}
		t.Skip("skipping: live capture needs root")
	}
	bed := testbed.StartForTest(t, testbed.Config{EdgeCandidate: change})
	hp := testbed.StartHAProxyForTest(t, testbed.HAProxyConfig{Legacy: bed.Legacy.Addr, Candidate: bed.EdgeCandidate.Addr, Balance: "roundrobin"})
	dir := t.TempDir()
	token, rules, plan, state := filepath.Join(dir, "token"), filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "plan.yaml"), filepath.Join(dir, "cutover.db")
	os.WriteFile(token, []byte("tok\n"), 0o600)
	os.WriteFile(rules, []byte(tapRules), 0o644)
	os.WriteFile(plan, []byte(tapPlan), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(bed.Legacy.Addr)

	tap := exec.Command(os.Args[0], "tap", "--interface", "lo", "--port", port, "--candidate", bed.EdgeCandidate.URL,
		"--rules", rules, "--admin", admin, "--admin-token-file", token)
	tap.Env = append(os.Environ(), "CUTOVER_TEST_MAIN=1")
	tap.Stdout, tap.Stderr = io.Discard, io.Discard
	if err := tap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Process.Kill(); tap.Wait() })
	for i := 0; ; i++ {
		if resp, err := tapGet(admin, "/status"); err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatal("the tap's admin API never answered")
		}
		time.Sleep(100 * time.Millisecond)
	}
	itemsLoad(t, hp.URL, 2, 5*time.Millisecond)

	args := []string{"rollout", "--state", state, "run", "--plan", plan,
		"--backend", "haproxy:" + hp.Socket + "?backend=app&legacy=legacy&candidate=candidate"}
	if viaPrometheus {
		prom := testbed.StartPrometheusForTest(t, testbed.PrometheusConfig{Targets: []string{admin}, BearerToken: "tok"})
		waitForSeries(t, prom.URL, "cutover_tap_exchanges_total")
		args = append(args, "--source", "prometheus:"+prom.URL)
	} else {
		args = append(args, "--mirror", "http://"+admin, "--admin-token-file", token)
	}
	code, stdout, stderr := runCLI(t, args...)
	if code != wantCode {
		t.Fatalf("rollout exit %d, want %d (%s%s)", code, wantCode, stdout, stderr)
	}
	j, err := rollout.OpenJournal(t.Context(), state)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	events, _ := j.History(t.Context(), "canary")
	last := events[len(events)-1]
	t.Logf("%s at %g%%: %s", last.Kind, last.Weight, last.Reason)
	// What each gate said at the looks that moved the rollout.
	verdicts := map[string]map[string]int{}
	for _, e := range events {
		for _, g := range e.Gates {
			if verdicts[g.Gate] == nil {
				verdicts[g.Gate] = map[string]int{}
			}
			verdicts[g.Gate][g.Verdict]++
		}
	}
	t.Logf("gate verdicts in the journal: %v", verdicts)
	for _, gate := range []string{rollout.GateLatency, rollout.GateLatencyTail} {
		for v := range verdicts[gate] {
			if v == rollout.GateFail {
				t.Errorf("the %s gate failed on a tap: %v", gate, verdicts[gate])
			}
		}
	}
	if wantCode == 1 {
		if last.Kind != "rolled_back" || last.Weight != 0 || !strings.Contains(last.Reason, "differences gate failed") {
			t.Errorf("last event %s at %g%%: %q, want a rollback to 0 by the differences gate", last.Kind, last.Weight, last.Reason)
		}
		if w := haproxyWeight(t, hp.APIAddr, "candidate"); w != 0 {
			t.Errorf("HAProxy's candidate weight %d after the rollback, want 0", w)
		}
		return
	}
	if last.Kind != "promoted" {
		t.Fatalf("last event %s: %q, want promoted", last.Kind, last.Reason)
	}
	// Every step passed with the latency gates not applicable and the
	// differences gate judging what the tap compared.
	passed, weight := 0, 0.0 // the weight held before each event: the step judged
	for _, e := range events {
		judged := weight
		weight = e.Weight
		if !strings.Contains(e.Reason, "passed its gates") {
			continue
		}
		passed++
		got := map[string]string{}
		for _, g := range e.Gates {
			got[g.Gate] = g.Verdict
		}
		want := map[string]string{rollout.GateLatency: rollout.GateNotApplicable, rollout.GateLatencyTail: rollout.GateNotApplicable}
		if judged < 100 {
			want[rollout.GateDifferences], want[rollout.GateErrorRate] = rollout.GatePass, rollout.GatePass
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("step at %g%% passed with gates (-want +got):\n%s", judged, d)
		}
	}
	if passed != 3 {
		t.Errorf("%d steps passed their gates, want 3", passed)
	}
}

// waitForSeries waits until the Prometheus at base has scraped a series
// of metric.
func waitForSeries(t *testing.T, base, metric string) {
	t.Helper()
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/api/v1/query?query=count(" + metric + ")")
		if err == nil {
			var r struct {
				Data struct {
					Result []json.RawMessage `json:"result"`
				} `json:"data"`
			}
			json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if len(r.Data.Result) > 0 {
				return
			}
		}
		if i == 150 {
			t.Fatalf("prometheus never scraped a %s series", metric)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// itemsLoad sends /api/items/1 to /api/items/10 in turn from clients until
// t ends, each pausing pace between requests: item 7 is a tenth of them.
func itemsLoad(t *testing.T, base string, clients int, pace time.Duration) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for range clients {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/items/%d", base, 1+i%10), nil)
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				select {
				case <-ctx.Done():
				case <-time.After(pace):
				}
			}
		})
	}
	t.Cleanup(func() { stop(); wg.Wait() })
}

// haproxyWeight reads a server's weight of backend app from HAProxy's
// runtime API.
func haproxyWeight(t *testing.T, api, server string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", api, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "get weight app/%s\n", server)
	b, _ := io.ReadAll(conn)
	var w int
	if _, err := fmt.Sscan(string(b), &w); err != nil {
		t.Fatalf("get weight app/%s: %q: %v", server, b, err)
	}
	return w
}

// TestTapSignals: SIGHUP writes the summary JSON (source "tap") while the
// tap runs; SIGTERM stops it promptly, the summary written again.
func TestTapSignals(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("live capture needs root")
		}
		t.Skip("skipping: live capture needs root")
	}
	bed := testbed.StartForTest(t, testbed.Config{})
	_, port, _ := net.SplitHostPort(bed.Legacy.Addr)
	out := filepath.Join(t.TempDir(), "summary.json")
	tap := exec.Command(os.Args[0], "tap", "--interface", "lo", "--port", port, "--candidate", bed.Candidate.URL, "--json", out)
	tap.Env = append(os.Environ(), "CUTOVER_TEST_MAIN=1")
	if err := tap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tap.Process.Kill(); tap.Wait() })
	read := func() map[string]any {
		var s map[string]any
		for i := 0; i < 100; i++ {
			if b, err := os.ReadFile(out); err == nil && json.Unmarshal(b, &s) == nil {
				return s
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal("no summary written")
		return nil
	}
	time.Sleep(500 * time.Millisecond)
	for _, path := range []string{"/api/items/1", "/api/items/2", "/page"} {
		if resp, err := http.Get(bed.Legacy.URL + path); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	time.Sleep(500 * time.Millisecond)
	tap.Process.Signal(syscall.SIGHUP)
	if s := read(); s["source"] != "tap" || s["schema"] != "cutover.summary/v1" {
		t.Errorf("SIGHUP summary: source %v, schema %v", s["source"], s["schema"])
	}
	os.Remove(out)
	tap.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- tap.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the tap did not stop within 10 s of SIGTERM")
	}
	s := read()
	counts, _ := s["counts"].(map[string]any)
	if counts["requests"] != float64(3) || counts["compared"] != float64(3) {
		t.Errorf("final counts %v: want the 3 requests compared", counts)
	}
}

// tapGet reads the tap's admin API with the token of these tests: with a
// token, reads need it (as a mirror's).
func tapGet(admin, path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+admin+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return resp, err
}
