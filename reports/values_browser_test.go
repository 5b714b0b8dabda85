package reports_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/reports"
)

const hostile = `<img src=x onerror=alert(1)><script>alert(2)</script>`

// valuesSummary is a run through the real comparer: a long string that
// differs at its 500th character under a key with a dot, a key that is
// markup, ten 502s that differ in five fields at once, and answer times
// whose histogram buckets lie above the exact maximum.
func valuesSummary() *diff.Summary {
	agg := diff.NewAggregator(diff.AggregatorConfig{Rules: &diff.Rules{Endpoints: []string{"/items/{id}", "/gw/{id}"}}})
	start := time.Date(2026, 12, 2, 2, 10, 0, 0, time.UTC)
	long := strings.Repeat("a", 499)
	jsonH := func(extra ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=60, public"}}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Add(extra[i], extra[i+1])
		}
		return h
	}
	for i := range 40 {
		at := start.Add(time.Duration(i) * 100 * time.Millisecond)
		// 1.234 ms (+i µs): two-digit HDR buckets end above these values.
		ms := 1234*time.Microsecond + time.Duration(i)*time.Microsecond
		l := &diff.Response{Status: 200, Header: jsonH(), Total: ms,
			Body: []byte(`{"a.b":"` + long + `LEGACY-TAIL","` + strings.ReplaceAll(hostile, `"`, `'`) + `":1,"n":1}`)}
		c := &diff.Response{Status: 200, Header: jsonH(), Total: ms + 200*time.Microsecond,
			Body: []byte(`{"a.b":"` + long + `CANDIDATE-TAIL","` + strings.ReplaceAll(hostile, `"`, `'`) + `":2,"n":1}`)}
		agg.Add(&diff.Exchange{Time: at, Request: diff.Request{Method: "GET", URI: "/items/" + strconv.Itoa(i), Host: "shop.test"}, Legacy: l, Candidate: c})

		gl := &diff.Response{Status: 200, Header: jsonH(), Body: []byte(`{"id":1}`), Total: ms}
		gc := gl
		if i%4 == 0 { // ten 502s: status, body, Content-Type, Cache-Control, Location
			gc = &diff.Response{Status: 502, Header: http.Header{"Content-Type": {"text/html"}, "Location": {"/down"}},
				Body: []byte("<html><body>" + hostile + " bad gateway</body></html>"), Total: time.Millisecond}
		}
		agg.Add(&diff.Exchange{Time: at, Request: diff.Request{Method: "GET", URI: "/gw/" + strconv.Itoa(i)}, Legacy: gl, Candidate: gc})
	}
	s := agg.Summary("replay")
	return &s
}

func TestValuesAsSentInBrowser(t *testing.T) {
	br := newBrowser(t)
	s := valuesSummary()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.HTML(f, s, reports.HTMLOptions{Generated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tb := br.open(t, "file://"+path, "#decision-line")
	defer tb.screenshot(filepath.Join(dir, "report.png"))

	t.Run("502 with five fields is one row", func(t *testing.T) {
		rows := eval[[]string](t, tb, `[...document.querySelectorAll('details.group > summary')].filter(s => s.innerText.includes('/gw/')).map(s => s.innerText)`)
		if len(rows) != 1 {
			t.Fatalf("rows for GET /gw/{id}: %q, want one", rows)
		}
		fields := eval[int](t, tb, `[...document.querySelectorAll('details.group > summary')].find(s => s.innerText.includes('/gw/')).querySelectorAll('.f').length`)
		if fields != 5 || !strings.Contains(rows[0], "10×") || !strings.Contains(rows[0], "candidate 502") {
			t.Errorf("row %q with %d fields: want 10×, candidate 502 and 5 fields", rows[0], fields)
		}
		// The side by side: the status line differs and is marked.
		marked := eval[[]string](t, tb, `[...[...document.querySelectorAll('details.group')].find(d => d.innerText.includes('/gw/')).querySelector('table.x tr[data-section=status]').querySelectorAll('td.hl mark')].map(m => m.textContent)`)
		if strings.Join(marked, "|") != "200 OK|502 Bad Gateway" {
			t.Errorf("marked parts of the status row: %q, want 200 and 502 marked", marked)
		}
	})

	t.Run("long string shows the differing characters", func(t *testing.T) {
		// The field's example and the exchange row both show them, each side its own.
		txt := eval[string](t, tb, `document.body.innerText`)
		for _, w := range []string{"LEGACY-TAIL", "CANDIDATE-TAIL"} {
			if !strings.Contains(txt, w) {
				t.Errorf("the page does not show %q", w)
			}
		}
		legacy := eval[string](t, tb, `[...document.querySelectorAll('.side.legacy pre')].map(p => p.textContent).join('\n')`)
		candidate := eval[string](t, tb, `[...document.querySelectorAll('.side.candidate pre')].map(p => p.textContent).join('\n')`)
		if !strings.Contains(legacy, "LEGACY-TAIL") || !strings.Contains(candidate, "CANDIDATE-TAIL") {
			t.Errorf("field excerpts: legacy %q, candidate %q: want each side's differing characters", legacy, candidate)
		}
		marks := eval[[]string](t, tb, `[...document.querySelectorAll('table.x td.hl mark')].map(m => m.textContent)`)
		if !containsAll(marks, "LEGACY", "CANDIDATE") {
			t.Errorf("marked parts %q: want LEGACY… and CANDIDATE… marked", marks)
		}
	})

	t.Run("a dotted key is one key", func(t *testing.T) {
		codes := eval[[]string](t, tb, `[...document.querySelectorAll('#endpoints td code')].map(c => c.innerText)`)
		if !containsAll(codes, `body["a.b"]`) {
			t.Errorf("field paths %q: want body[\"a.b\"]", codes)
		}
		legacy := eval[string](t, tb, `[...document.querySelectorAll('.side.legacy pre')].map(p => p.textContent).join('\n')`)
		if !strings.Contains(legacy, `"a.b": `) || strings.Contains(legacy, `"a": {`) {
			t.Errorf("excerpt %q: want the key \"a.b\" whole, not nested", legacy)
		}
		var md, junit, js bytes.Buffer
		if err := reports.Markdown(&md, s); err != nil {
			t.Fatal(err)
		}
		if err := reports.JUnit(&junit, s); err != nil {
			t.Fatal(err)
		}
		if err := reports.JSON(&js, s); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(md.String(), "`"+`body["a.b"]`+"`") {
			t.Errorf("Markdown lacks the code span body[\"a.b\"]:\n%s", md.String())
		}
		var doc struct {
			Suites []struct {
				Cases []struct {
					Failure *struct {
						Message string `xml:"message,attr"`
						Text    string `xml:",chardata"`
					} `xml:"failure"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range doc.Suites[0].Cases {
			if c.Failure != nil && strings.Contains(c.Failure.Text, `body["a.b"] changed`) {
				found = true
			}
		}
		if !found {
			t.Errorf("JUnit names no failure at body[\"a.b\"]:\n%s", junit.String())
		}
		var back diff.Summary
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, e := range back.Endpoints {
			for _, f := range e.Fields {
				paths = append(paths, f.Path)
			}
		}
		if !containsAll(paths, `body["a.b"]`, `body["<img src=x onerror=alert(1)><script>alert(2)</script>"]`) {
			t.Errorf("JSON paths %q", paths)
		}
	})

	t.Run("p99 at most max", func(t *testing.T) {
		// The latency table: rows p99 and max, legacy and candidate.
		cells := eval[[][]string](t, tb, `[...document.querySelectorAll('#latency table tr')].map(r => [...r.cells].map(c => c.innerText))`)
		byName := map[string][]string{}
		for _, r := range cells {
			if len(r) == 3 {
				byName[r[0]] = r[1:]
			}
		}
		for side := range 2 {
			p99, max := num(t, byName["p99"][side]), num(t, byName["max"][side])
			if p99 > max {
				t.Errorf("side %d: p99 %v shown above max %v", side, p99, max)
			}
		}
		for _, e := range s.Endpoints {
			for _, p := range []diff.Percentiles{e.LatencyMs.Legacy, e.LatencyMs.Candidate} {
				if p.P99 > p.Max || p.P90 > p.Max || p.P50 > p.Max {
					t.Errorf("%s: summary percentiles %+v above max", e.Endpoint, p)
				}
			}
		}
		for _, p := range s.Series.Points {
			for _, l := range []diff.IntervalLatency{p.LatencyMs.Legacy, p.LatencyMs.Candidate} {
				if l.P99 > l.Max {
					t.Errorf("interval %s: p99 %v above max %v", p.Start, l.P99, l.Max)
				}
			}
		}
		bars := eval[[]string](t, tb, `[...document.querySelectorAll('rect.bar')].map(r => r.dataset.bar + '=' + r.dataset.value)`)
		if len(bars) == 0 {
			t.Error("no latency bars")
		}
	})

	t.Run("hostile content is inert", func(t *testing.T) {
		if txt := eval[string](t, tb, `document.body.innerText`); !strings.Contains(txt, "<script>alert(2)</script>") {
			t.Error("the hostile markup is not shown as text")
		}
		tb.inert(t)
	})
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			if strings.Contains(l, w) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}
