package rollout

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/mirror"
	"github.com/cutover/cutover/rollout/nginxsplit"
)

// frontBed is the test bed behind a front door: legacy is the bed's NGINX
// in front of origin, candidate a second NGINX/Lua in front of the
// candidate fixture (whose switches inject the faults), so that each
// side's access log counts what it served.
type frontBed struct {
	bed       *testbed.Bed
	candidate *testbed.NGINX
}

func startFrontBed(t *testing.T) *frontBed {
	t.Helper()
	bed := testbed.StartForTest(t, testbed.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cand, err := testbed.StartNGINX(ctx, zerolog.Nop(), testbed.NGINXConfig{Origin: bed.Candidate.Addr, Dir: filepath.Join(t.TempDir(), "candidate")})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cand.Stop() })
	return &frontBed{bed: bed, candidate: cand}
}

// wrkScript sends item and list requests from the users of a file
// (X-User), in its order, round and round, pausing pace between a
// connection's requests.
const wrkScript = `
local users = {}
for line in io.lines(%q) do users[#users + 1] = line end
local n = 0
request = function()
  n = n + 1
  wrk.headers["X-User"] = users[(n - 1) %% #users + 1]
  if n %% 3 == 0 then
    return wrk.format("GET", "/api/items?page=" .. (n %% 100 + 1))
  end
  return wrk.format("GET", "/api/items/" .. (n %% 1000 + 1))
end
delay = function() return %d end
`

// bucketUsers returns 2500 users, one every 4 buckets of the split, in an
// order of low discrepancy (bit-reversed buckets): every weight of the plan
// has exactly its share of them, and any run of them holds it to a small
// fraction of a point, so that what a step serves measures the split, not
// the luck of a user sample; and they come back every 2500 requests, so
// that each step sees the users of the one before.
func bucketUsers() []string {
	byBucket := make([]string, mirror.Buckets)
	for i, left := 0, mirror.Buckets; left > 0; i++ {
		k := "u" + strconv.Itoa(i)
		if b := mirror.UserBucket(k); byBucket[b] == "" {
			byBucket[b], left = k, left-1
		}
	}
	var users []string
	for i := range 1 << 12 {
		if b := int(bits.Reverse16(uint16(i)) >> 2); b < mirror.Buckets {
			users = append(users, byBucket[b])
		}
	}
	return users
}

// startWrk runs wrk against url until the test ends.
func startWrk(t *testing.T, url string, users []string, pace time.Duration) {
	t.Helper()
	t.Cleanup(startWrkStoppable(t, url, users, pace))
}

// startWrkStoppable runs wrk against url until the returned stop is called.
func startWrkStoppable(t *testing.T, url string, users []string, pace time.Duration) (stop func()) {
	t.Helper()
	bin, err := exec.LookPath("wrk")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("wrk is not installed")
		}
		t.Skip("skipping: wrk is not installed (apt-get install wrk)")
	}
	dir := t.TempDir()
	script, list := filepath.Join(dir, "users.lua"), filepath.Join(dir, "users.txt")
	os.WriteFile(list, []byte(strings.Join(users, "\n")+"\n"), 0o644)
	os.WriteFile(script, []byte(fmt.Sprintf(wrkScript, list, pace.Milliseconds())), 0o644)
	cmd := exec.Command(bin, "-t1", "-c8", "-d600s", "-s", script, url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	return func() {
		if !stopped {
			stopped = true
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	}
}

// logLine is what the tests read of an NGINX access log line.
type logLine struct {
	Msec   float64 `json:"msec"`
	Status int     `json:"status"`
	URI    string  `json:"uri"`
}

func readAccessLog(t *testing.T, path string) []logLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.URI, "/api/") {
			out = append(out, l)
		}
	}
	return out
}

// stepSpans are the times each step of the history was in effect, from
// its "step" event to the next event that changed the weight.
type stepSpan struct {
	weight     float64
	start, end time.Time
}

func stepSpans(t *testing.T, j *Journal) []stepSpan {
	t.Helper()
	events, err := j.History(context.Background(), "e2e")
	if err != nil {
		t.Fatal(err)
	}
	var spans []stepSpan
	for _, e := range events {
		if n := len(spans); n > 0 && spans[n-1].end.IsZero() && e.Weight != spans[n-1].weight {
			spans[n-1].end = e.Time
		}
		if e.Kind == "step" {
			spans = append(spans, stepSpan{weight: e.Weight, start: e.Time})
		}
	}
	if n := len(spans); n > 0 && spans[n-1].end.IsZero() {
		spans[n-1].end = time.Now()
	}
	return spans
}

// servedShares counts, per step, the candidate's share of what the two
// access logs show served while the step was in effect (its first 300ms
// left out: requests in flight at the change).
func servedShares(t *testing.T, spans []stepSpan, legacyLog, candidateLog string) (shares []float64, counts []int) {
	legacy, candidate := readAccessLog(t, legacyLog), readAccessLog(t, candidateLog)
	count := func(lines []logLine, s stepSpan) int {
		from, to := float64(s.start.Add(300*time.Millisecond).UnixMilli())/1000, float64(s.end.UnixMilli())/1000
		n := 0
		for _, l := range lines {
			if l.Msec >= from && l.Msec < to {
				n++
			}
		}
		return n
	}
	for _, s := range spans {
		l, c := count(legacy, s), count(candidate, s)
		shares = append(shares, math.Round(1000*float64(c)/math.Max(1, float64(l+c)))/10)
		counts = append(counts, l+c)
	}
	return shares, counts
}

// frontPlan holds each step for thousands of requests (the users' order
// makes any run of them hold each share: see bucketUsers); the front doors
// measure served traffic only, so the shadow gates are off.
const frontPlan = `
name: e2e
steps: [5, 25, 50, 100]
hold: 4s
min_requests: 50
interval: 1s
max_duration: 90s
gates:
  latency: {disabled: true}
  differences: {disabled: true}
`

// frontRollbackPlan rolls back on the first failed evaluation.
const frontRollbackPlan = `
name: e2e
steps: [{weight: 5, hold: 3s}, 25, 50, 100]
hold: 20s
min_requests: 50
interval: 2s
failure: {consecutive: 1}
gates:
  latency: {disabled: true}
  differences: {disabled: true}
`

// frontController runs plan with backend as both the weight and the measure.
func frontController(t *testing.T, plan string, door interface {
	WeightSetter
	measurer
}) (*Controller, *Journal) {
	t.Helper()
	p, err := ParsePlan([]byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(context.Background(), filepath.Join(t.TempDir(), "cutover.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return &Controller{Plan: p, PlanYAML: plan, Journal: j, Source: door, Backend: door, Log: zerolog.Nop(), Actor: "test"}, j
}

// checkShares asserts the share served at each step is within 2 points.
func checkShares(t *testing.T, spans []stepSpan, shares []float64, counts []int) {
	t.Helper()
	if len(spans) != 4 {
		t.Fatalf("steps entered: %+v, want 4", spans)
	}
	for i, s := range spans {
		t.Logf("step %g%%: candidate served %.1f%% of %d requests", s.weight, shares[i], counts[i])
		if math.Abs(shares[i]-s.weight) > 2 {
			t.Errorf("step %g%%: the candidate served %.1f%% of %d requests, want within 2 points", s.weight, shares[i], counts[i])
		}
	}
}

// watchWeight polls get until it returns 0 and reports when.
func watchWeight(t *testing.T, get func() (float64, error)) <-chan time.Time {
	at := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		defer close(at)
		seenAbove := false
		for ctx.Err() == nil {
			if w, err := get(); err == nil {
				seenAbove = seenAbove || w > 0
				if seenAbove && w == 0 {
					at <- time.Now()
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return at
}

// The shares are checked under round robin, which serves weights exactly:
// HAProxy's consistent-hash ring places each server's points pseudo-
// randomly, so sticky hashing serves shares up to about a point off the
// weights (0.7 and 0.9 measured at 25% and 50%) whatever sets them;
// TestHAProxyStickyHashing covers the README's sticky setup.
func TestHAProxyRollout(t *testing.T) {
	f := startFrontBed(t)
	hp := testbed.StartHAProxyForTest(t, testbed.HAProxyConfig{Legacy: f.bed.Legacy.Addr, Candidate: f.candidate.Addr, Balance: "roundrobin"})
	door, err := ParseHAProxy(hp.Socket + "?backend=app&legacy=legacy&candidate=candidate")
	if err != nil {
		t.Fatal(err)
	}
	startWrk(t, hp.URL, bucketUsers(), 0)

	t.Run("promoted through 5/25/50/100", func(t *testing.T) {
		c, j := frontController(t, frontPlan, door)
		st := runController(t, c)
		if st.Status != StatusPromoted {
			t.Fatalf("status %s, want promoted; gates %+v", st.Status, st.Gates)
		}
		spans := stepSpans(t, j)
		shares, counts := servedShares(t, spans, f.bed.Legacy.AccessLog, f.candidate.AccessLog)
		checkShares(t, spans, shares, counts)
	})

	t.Run("5% of 503s roll back", func(t *testing.T) {
		defer f.bed.Candidate.SetSwitches(testbed.Switches{})
		c, j := frontController(t, frontRollbackPlan, door)
		switched := switchAtStep(t, j, f.bed, 1, testbed.Switches{ErrorRate: 0.05, ErrorStatus: 503})
		zero := watchWeight(t, func() (float64, error) {
			w, err := door.weights(context.Background())
			return float64(w.candidate), err
		})
		st := runController(t, c)
		if st.Status != StatusRolledBack {
			t.Fatalf("status %s, want rolled back; gates %+v", st.Status, st.Gates)
		}
		sw, at := <-switched, <-zero
		if sw.IsZero() || at.IsZero() {
			t.Fatalf("switched at %v, candidate weight 0 at %v", sw, at)
		}
		if d, limit := at.Sub(sw), 2*c.Plan.Interval+slack(); d > limit { // slack: a race build on 2 busy cores
			t.Errorf("HAProxy's candidate weight reached 0 %v after the 503s began, want within 2 intervals (%v)", d, limit)
		}
		t.Logf("HAProxy's candidate weight 0 %v after the 503s began", at.Sub(sw).Round(time.Millisecond))
	})
}

// splitLog is an access log of the split NGINX with each request's side
// and user, for the stickiness check.
const splitLog = `log_format cutover_split escape=json '{"msec":$msec,"uri":"$request_uri","status":$status,"side":"$cutover_upstream","user":"$http_x_user"}';
access_log %s cutover_split;
`

type splitLine struct {
	logLine
	Side string `json:"side"`
	User string `json:"user"`
}

// startSplitLegacy starts a legacy NGINX that splits by itself between
// origin and the candidate NGINX.
func startSplitLegacy(t *testing.T, f *frontBed) (*testbed.NGINX, string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "split")
	files, err := nginxsplit.Render(nginxsplit.Config{Candidate: f.candidate.Addr, LegacyUpstream: "origin", Key: "header:X-User", Token: splitToken})
	if err != nil {
		t.Fatal(err)
	}
	paths, err := nginxsplit.Write(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "split.log")
	logConf := filepath.Join(dir, "split-log.conf")
	os.WriteFile(logConf, []byte(fmt.Sprintf(splitLog, logPath)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	n, err := testbed.StartNGINX(ctx, zerolog.Nop(), testbed.NGINXConfig{Origin: f.bed.Origin.Addr, Dir: dir,
		HTTPIncludes:   []string{paths[nginxsplit.HTTPInclude], logConf},
		ServerIncludes: []string{paths[nginxsplit.ServerInclude]}, LocationInclude: paths[nginxsplit.LocationInclude]})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); n.Stop() })
	return n, n.URL + "/cutover/split", logPath
}

const splitToken = "split-token-0123456789"

func readSplitLog(t *testing.T, path string) []splitLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []splitLine
	for _, line := range strings.Split(string(b), "\n") {
		var l splitLine
		if json.Unmarshal([]byte(line), &l) == nil && strings.HasPrefix(l.URI, "/api/") {
			out = append(out, l)
		}
	}
	return out
}

func TestNGINXSplitRollout(t *testing.T) {
	f := startFrontBed(t)
	legacy, adminURL, logPath := startSplitLegacy(t, f)
	door, err := NewNGINXSplit(adminURL, splitToken)
	if err != nil {
		t.Fatal(err)
	}
	// The users come back every 2500 requests: the shares are the split's,
	// and users are seen across steps.
	startWrk(t, legacy.URL, bucketUsers(), 0)

	t.Run("promoted through 5/25/50/100, users sticky", func(t *testing.T) {
		c, j := frontController(t, frontPlan, door)
		st := runController(t, c)
		if st.Status != StatusPromoted {
			t.Fatalf("status %s, want promoted; gates %+v", st.Status, st.Gates)
		}
		spans := stepSpans(t, j)
		// Legacy's share from the split NGINX's log of what it kept,
		// the candidate's from the candidate NGINX's own log.
		kept := filepath.Join(t.TempDir(), "kept.log")
		var keptLines []string
		lines := readSplitLog(t, logPath)
		for _, l := range lines {
			if l.Side == "origin" {
				b, _ := json.Marshal(l.logLine)
				keptLines = append(keptLines, string(b))
			}
		}
		os.WriteFile(kept, []byte(strings.Join(keptLines, "\n")), 0o644)
		shares, counts := servedShares(t, spans, kept, f.candidate.AccessLog)
		checkShares(t, spans, shares, counts)

		in := func(l splitLine, s stepSpan) bool {
			return l.Msec >= float64(s.start.Add(300*time.Millisecond).UnixMilli())/1000 && l.Msec < float64(s.end.UnixMilli())/1000
		}
		onCandidate := map[string]bool{}
		for _, l := range lines {
			if in(l, spans[0]) && l.Side == "cutover_candidate" {
				onCandidate[l.User] = true
			}
		}
		flipped, again := map[string]bool{}, 0
		for _, l := range lines {
			if in(l, spans[1]) && onCandidate[l.User] {
				again++
				if l.Side != "cutover_candidate" {
					flipped[l.User] = true
				}
			}
		}
		t.Logf("%d users served by the candidate at 5%%; %d of their requests at 25%%, %d users of them served by legacy", len(onCandidate), again, len(flipped))
		if len(onCandidate) < 50 || again < 50 {
			t.Fatalf("too few users to judge stickiness: %d at 5%%, %d requests at 25%%", len(onCandidate), again)
		}
		if len(flipped) > 0 {
			t.Errorf("%d users served by the candidate at 5%% were served by legacy at 25%%", len(flipped))
		}
	})

	t.Run("5% of 503s roll back", func(t *testing.T) {
		defer f.bed.Candidate.SetSwitches(testbed.Switches{})
		c, j := frontController(t, frontRollbackPlan, door)
		switched := switchAtStep(t, j, f.bed, 1, testbed.Switches{ErrorRate: 0.05, ErrorStatus: 503})
		probe, _ := NewNGINXSplit(adminURL, splitToken)
		zero := watchWeight(t, func() (float64, error) {
			st, err := probe.call(context.Background(), "GET", nil)
			return st.Weight, err
		})
		st := runController(t, c)
		if st.Status != StatusRolledBack {
			t.Fatalf("status %s, want rolled back; gates %+v", st.Status, st.Gates)
		}
		sw, at := <-switched, <-zero
		if sw.IsZero() || at.IsZero() {
			t.Fatalf("switched at %v, weight 0 at %v", sw, at)
		}
		if d, limit := at.Sub(sw), 2*c.Plan.Interval+slack(); d > limit { // slack: a race build on 2 busy cores
			t.Errorf("the split's weight reached 0 %v after the 503s began, want within 2 intervals (%v)", d, limit)
		}
		// The next request after the rollback is legacy's.
		time.Sleep(100 * time.Millisecond)
		after := float64(time.Now().UnixMilli()) / 1000
		time.Sleep(500 * time.Millisecond)
		for _, l := range readSplitLog(t, logPath) {
			if l.Msec > after && l.Side != "origin" {
				t.Fatalf("after the rollback a request went to %s", l.Side)
			}
		}
		t.Logf("the split's weight 0 %v after the 503s began", at.Sub(sw).Round(time.Millisecond))
	})
}
