package testbed

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// answer is what a client saw, decoded for comparison.
type answer struct {
	status  int
	header  http.Header
	body    []byte // after Content-Encoding is undone
	elapsed time.Duration
	bodyDur time.Duration // from headers received to the last body byte
	err     error
}

type probe struct {
	method string
	path   string
	header map[string]string
	body   string
}

// fetch sends one request on a fresh connection: no keep-alive, so the Go
// client never retries a reset connection behind the test's back.
func fetch(t *testing.T, base string, p probe) answer {
	t.Helper()
	client := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true},
		Timeout:   20 * time.Second,
	}
	var body io.Reader
	if p.body != "" {
		body = strings.NewReader(p.body)
	}
	req, err := http.NewRequest(p.method, base+p.path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	headersAt := time.Now()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{err: err}
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: raw, elapsed: time.Since(start), bodyDur: time.Since(headersAt)}
	if resp.Header.Get("Content-Encoding") == "gzip" && len(raw) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s %s: bad gzip: %v", p.method, p.path, err)
		}
		if a.body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s %s: bad gzip: %v", p.method, p.path, err)
		}
	}
	return a
}

// edgeHeaders are the headers the edge sets or passes that must be equal.
var edgeHeaders = []string{"Content-Type", "Content-Encoding", "Cache-Control", "Vary", "X-Served-By"}

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// differences lists where two answers disagree, with the edge's noise
// (request id, edge time, noisy JSON fields) taken out. It is the test's
// own small oracle, independent of package diff.
func differences(t *testing.T, legacy, candidate answer) []string {
	t.Helper()
	var out []string
	if legacy.status != candidate.status {
		out = append(out, fmt.Sprintf("status %d != %d", legacy.status, candidate.status))
	}
	for _, h := range edgeHeaders {
		if l, c := legacy.header.Values(h), candidate.header.Values(h); !cmp.Equal(l, c) {
			out = append(out, fmt.Sprintf("header %s %q != %q", h, l, c))
		}
	}
	for name, a := range map[string]answer{"legacy": legacy, "candidate": candidate} {
		if id := a.header.Get("X-Request-Id"); !requestIDPattern.MatchString(id) {
			t.Errorf("%s X-Request-Id = %q, want 32 hex digits", name, id)
		}
		sec, err := strconv.ParseFloat(a.header.Get("X-Edge-Time"), 64)
		if err != nil || time.Since(time.UnixMilli(int64(sec*1000))).Abs() > time.Minute {
			t.Errorf("%s X-Edge-Time = %q, want the time now", name, a.header.Get("X-Edge-Time"))
		}
	}
	if strings.HasPrefix(legacy.header.Get("Content-Type"), "application/json") {
		l, c := flattenJSON(t, legacy.body), flattenJSON(t, candidate.body)
		for _, noisy := range []string{"generated_at", "request_id", "headers.X-Request-Id[0]"} {
			delete(l, noisy)
			delete(c, noisy)
		}
		keys := map[string]bool{}
		for k := range l {
			keys[k] = true
		}
		for k := range c {
			keys[k] = true
		}
		for k := range keys {
			if !cmp.Equal(l[k], c[k]) {
				out = append(out, fmt.Sprintf("body.%s %v != %v", k, l[k], c[k]))
			}
		}
	} else if !bytes.Equal(legacy.body, candidate.body) {
		out = append(out, fmt.Sprintf("body differs (%d bytes vs %d)", len(legacy.body), len(candidate.body)))
	}
	sort.Strings(out)
	return out
}

// flattenJSON maps dotted paths to leaf values ("stock.count" → 3).
func flattenJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	out := map[string]any{}
	if len(b) == 0 {
		return out
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %.80q", err, b)
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(strings.TrimPrefix(prefix+"."+k, "."), e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", prefix, i), e)
			}
		default:
			out[prefix] = x
		}
	}
	walk("", v)
	return out
}

func (p probe) name() string {
	n := p.method + " " + p.path
	if p.header["Accept-Encoding"] != "" {
		n += " gzip"
	}
	return n
}

var gz = map[string]string{"Accept-Encoding": "gzip"}

var probes = []probe{
	{method: "GET", path: "/api/items/5"},
	{method: "GET", path: "/api/items/5", header: gz},
	{method: "GET", path: "/api/items?page=2"},
	{method: "GET", path: "/api/items?page=2", header: gz},
	{method: "GET", path: "/api/items?page=100", header: gz},
	{method: "GET", path: "/api/items?page=x"},
	{method: "GET", path: "/api/items/9999", header: gz},
	{method: "GET", path: "/v1/items/7", header: gz},
	{method: "GET", path: "/edge/health", header: gz},
	{method: "GET", path: "/edge/health"},
	{method: "GET", path: "/api/noisy", header: gz},
	{method: "GET", path: "/page", header: gz},
	{method: "GET", path: "/old-page"},
	{method: "GET", path: "/text"},
	{method: "GET", path: "/binary"},
	{method: "GET", path: "/large", header: gz},
	{method: "GET", path: "/stream?chunks=3&delay_ms=5"},
	{method: "HEAD", path: "/api/items?page=2", header: gz},
	{method: "POST", path: "/echo", body: `{"hello":"world"}`, header: map[string]string{"Content-Type": "application/json"}},
	{method: "POST", path: "/echo", body: `{"expect":"continue"}`, header: map[string]string{"Expect": "100-continue"}},
	{method: "DELETE", path: "/echo?x=1"},
	{method: "GET", path: "/nowhere"},
}

func TestLegacyAndFaithfulCandidateAnswerAlike(t *testing.T) {
	t.Parallel()
	bed := StartForTest(t, Config{Secondary: true})
	for _, p := range probes {
		t.Run(p.name(), func(t *testing.T) {
			legacy := fetch(t, bed.Legacy.URL, p)
			candidate := fetch(t, bed.Candidate.URL, p)
			secondary := fetch(t, bed.Secondary.URL, p)
			for name, a := range map[string]answer{"legacy": legacy, "candidate": candidate, "secondary": secondary} {
				if a.err != nil {
					t.Fatalf("%s: %v", name, a.err)
				}
			}
			if diff := differences(t, legacy, candidate); len(diff) > 0 {
				t.Errorf("legacy vs faithful candidate differ:\n%s", strings.Join(diff, "\n"))
			}
			if diff := differences(t, legacy, secondary); len(diff) > 0 {
				t.Errorf("legacy vs secondary differ:\n%s", strings.Join(diff, "\n"))
			}
			if legacy.header.Get("X-Request-Id") == secondary.header.Get("X-Request-Id") {
				t.Errorf("legacy and secondary share a request id: ids must be noise")
			}
		})
	}
}

func TestEdgeBehaviour(t *testing.T) {
	t.Parallel()
	bed := StartForTest(t, Config{})
	for _, target := range []struct{ name, url string }{{"legacy", bed.Legacy.URL}, {"candidate", bed.Candidate.URL}} {
		t.Run(target.name, func(t *testing.T) {
			gzipped := fetch(t, target.url, probe{method: "GET", path: "/api/items?page=1", header: gz})
			if got := gzipped.header.Get("Content-Encoding"); got != "gzip" {
				t.Errorf("JSON list with Accept-Encoding: gzip: Content-Encoding = %q, want gzip", got)
			}
			if got := gzipped.header.Get("Cache-Control"); got != "public, max-age=60" {
				t.Errorf("Cache-Control = %q, want public, max-age=60", got)
			}
			health := fetch(t, target.url, probe{method: "GET", path: "/edge/health"})
			if string(health.body) != healthBody {
				t.Errorf("/edge/health body = %q, want %q", health.body, healthBody)
			}
			rewritten := fetch(t, target.url, probe{method: "GET", path: "/v1/items/7"})
			direct := fetch(t, target.url, probe{method: "GET", path: "/api/items/7"})
			if rewritten.status != 200 || !bytes.Equal(rewritten.body, direct.body) {
				t.Errorf("/v1/items/7 = %d %q, want the answer of /api/items/7", rewritten.status, rewritten.body)
			}
			echo := fetch(t, target.url, probe{method: "GET", path: "/echo"})
			var got EchoReply
			if err := json.Unmarshal(echo.body, &got); err != nil {
				t.Fatal(err)
			}
			if id := got.Headers["X-Request-Id"]; len(id) != 1 || id[0] != echo.header.Get("X-Request-Id") {
				t.Errorf("origin saw X-Request-Id %q, client got %q: want the same id", id, echo.header.Get("X-Request-Id"))
			}
		})
	}
}
