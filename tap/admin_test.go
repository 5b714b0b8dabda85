package tap

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// serveAdmin serves a tap's admin API on loopback and returns its URL.
func serveAdmin(t *testing.T, res *Results, opts AdminOptions) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: AdminHandler(res, func() int64 { return 0 }, opts, zerolog.Nop())}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The tap's admin API is the mirror's: with a token every read needs it,
// profiles included; without one reads are open and changes refused.
func TestAdminToken(t *testing.T) {
	t.Parallel()
	withToken := serveAdmin(t, NewResults(diff.AggregatorConfig{}, false), AdminOptions{Token: "s3cret", Pprof: true})
	open := serveAdmin(t, NewResults(diff.AggregatorConfig{}, false), AdminOptions{})
	tests := []struct {
		name, base, method, path, token, body string
		wantStatus                            int
		wantBody                              string
	}{
		{"status needs the token", withToken, "GET", "/status", "", "", 401, "bearer token is required"},
		{"summary needs the token", withToken, "GET", "/summary", "guess", "", 401, "bearer token is required"},
		{"window needs the token", withToken, "GET", "/window", "", "", 401, "bearer token is required"},
		{"metrics need the token", withToken, "GET", "/metrics", "", "", 401, "bearer token is required"},
		{"report needs the token", withToken, "GET", "/report", "", "", 401, "bearer token is required"},
		{"pprof needs the token", withToken, "GET", "/debug/pprof/", "", "", 401, "bearer token is required"},
		{"status with the token", withToken, "GET", "/status", "s3cret", "", 200, `"source": "tap"`},
		{"summary with the token", withToken, "GET", "/summary", "s3cret", "", 200, `"schema": "cutover.summary/v1"`},
		{"metrics with the token", withToken, "GET", "/metrics", "s3cret", "", 200, MetricExchanges + " 0"},
		{"pprof with the token", withToken, "GET", "/debug/pprof/", "s3cret", "", 200, "goroutine"},
		{"window change without the token", withToken, "POST", "/window", "", `{"id":"step-1"}`, 401, "bearer token is required"},
		{"window change without an id", withToken, "POST", "/window", "s3cret", `{}`, 400, "id missing"},
		{"window change", withToken, "POST", "/window", "s3cret", `{"id":"step-1"}`, 200, `"id": "step-1"`},
		{"the window changed", withToken, "GET", "/window", "s3cret", "", 200, `"id": "step-1"`},
		{"no weight on a tap", withToken, "PUT", "/weight", "s3cret", `{"weight":10}`, 404, ""},
		{"reads are open without a token file", open, "GET", "/summary", "", "", 200, `"schema": "cutover.summary/v1"`},
		{"pprof is off unless asked for", open, "GET", "/debug/pprof/", "", "", 404, ""},
		{"changes disabled without a token file", open, "POST", "/window", "anything", `{"id":"step-1"}`, 403, "start the tap with --admin-token-file"},
	}
	for _, tt := range tests {
		// Sequential: the window is read after it changed.
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, tt.method, tt.base+tt.path, tt.token, tt.body)
			if code != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, code, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// scrapeTap reads /metrics: family -> value of label (or "") -> value.
func scrapeTap(t *testing.T, admin, token string, families map[string]string) map[string]map[string]int64 {
	t.Helper()
	code, body := call(t, "GET", admin+"/metrics", token, "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int64{}
	for name, label := range families {
		out[name] = map[string]int64{}
		for _, m := range fams[name].GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					key = l.GetValue()
				}
			}
			out[name][key] += int64(m.GetCounter().GetValue())
		}
	}
	return out
}

// TestMetricsCarryTheAccounting captures real NGINX/Lua traffic live and
// checks that /metrics carries the summary's whole accounting, so that
// requests == skipped + compared + failed holds from the metrics alone:
// 40 GETs compared (item 7's 4 different, the candidate's one change), 5
// POSTs skipped as unsafe, and both sides' answers counted.
func TestMetricsCarryTheAccounting(t *testing.T) {
	testbed.NeedRoot(t)
	bed := testbed.StartForTest(t, testbed.Config{EdgeCandidate: itemSeven})
	res := NewResults(edgeNoise(t), false)
	admin := serveAdmin(t, res, AdminOptions{Token: "tok"})
	stop := startLiveTap(t, bed, res)
	for i := range 45 {
		method, path := http.MethodGet, fmt.Sprintf("/api/items/%d", i%10+1)
		if i >= 40 {
			method = http.MethodPost
		}
		req, _ := http.NewRequest(method, bed.Legacy.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, _ := res.Counts()
		if c.Requests >= 45 && c.Compared+c.Failed.Candidate >= 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s the tap accounted %+v of 45 requests", c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()

	s := res.Summary()
	if err := s.Counts.Check(); err != nil {
		t.Fatal(err)
	}
	got := scrapeTap(t, admin, "tok", map[string]string{
		MetricExchanges: "", MetricCompared: "endpoint", MetricDifferent: "endpoint", MetricFailed: "side",
		MetricSkipped: "reason", MetricRequests: "side", MetricErrors: "side",
	})
	want := map[string]map[string]int64{
		MetricExchanges: {"": 45},
		MetricCompared:  {"GET /api/items/{id}": 40, "POST /api/items/{id}": 0},
		MetricDifferent: {"GET /api/items/{id}": 4, "POST /api/items/{id}": 0},
		MetricFailed:    {"legacy": 0, "candidate": 0, "both": 0},
		MetricSkipped:   {"unsafe": 5},
		MetricRequests:  {"legacy": 45, "candidate": 40},
		MetricErrors:    {"legacy": 0, "candidate": 0},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("/metrics (-want +got):\n%s\nsummary counts %+v", d, s.Counts)
	}
	// The invariant, from the metrics alone.
	sum := got[MetricFailed]["legacy"] + got[MetricFailed]["candidate"] + got[MetricFailed]["both"]
	for _, n := range got[MetricSkipped] {
		sum += n
	}
	for _, n := range got[MetricCompared] {
		sum += n
	}
	if sum != got[MetricExchanges][""] || sum != s.Counts.Requests {
		t.Errorf("from /metrics: skipped + compared + failed = %d, exchanges %d, the summary's requests %d", sum, got[MetricExchanges][""], s.Counts.Requests)
	}
}
