package reports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/mirror"
)

// TestLiveMirrorReportInBrowser runs a mirror at weight 10 in front of the
// real test bed, switches on a regression half way (5% of 502s from the
// candidate, a changed price, 3 ms more latency), then opens the mirror's
// GET /report in Chromium: the decision and every scorecard figure match
// the summary JSON, the 502s are a 5xx rate, the time series rises within
// one interval of the switch, and the page reloads itself without script.
func TestLiveMirrorReportInBrowser(t *testing.T) {
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true})
	br := newBrowser(t)
	agg := diff.NewAggregator(diff.AggregatorConfig{Rules: testbed.Rules(), SeriesInterval: time.Second})
	cfg := mirror.Config{Weight: 10}
	cfg.Legacy, _ = url.Parse(bed.Legacy.URL)
	cfg.Candidate, _ = url.Parse(bed.Candidate.URL)
	cfg.Secondary, _ = url.Parse(bed.Secondary.URL)
	m, err := mirror.New(cfg, agg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mirror.Listen(m, agg, mirror.ServerConfig{Listen: "127.0.0.1:0", Admin: "127.0.0.1:0"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	client := &http.Client{Timeout: 10 * time.Second}
	sent := 0
	send := func(d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			resp, err := client.Get(fmt.Sprintf("http://%s/api/items/%d", srv.Addr, sent%50+1))
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sent++
			time.Sleep(20 * time.Millisecond)
		}
	}
	send(5 * time.Second)
	switched := time.Now()
	if err := bed.Candidate.SetSwitches(testbed.Switches{
		ErrorRate:   0.05,
		ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`0.01`)},
		Latency:     testbed.Latency{Fixed: testbed.Duration(3 * time.Millisecond)},
	}); err != nil {
		t.Fatal(err)
	}
	send(5 * time.Second)

	// Every request accounted for, then the summary JSON and the page.
	deadline := time.Now().Add(30 * time.Second)
	for agg.Summary("mirror").Counts.Requests < int64(sent) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	admin := "http://" + srv.AdminAddr
	resp, err := client.Get(admin + "/summary")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s, err := diff.ParseSummary(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts.Requests != int64(sent) {
		t.Fatalf("%d requests accounted, %d sent", s.Counts.Requests, sent)
	}
	resp, err = client.Get(admin + "/report")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); resp.StatusCode != 200 || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("GET /report: %d, CSP %q", resp.StatusCode, csp)
	}

	tb := br.open(t, admin+"/report", "#decision-line")
	dir := t.TempDir()
	defer tb.screenshot(dir + "/live.png")

	t.Run("decision and scorecard match the summary", func(t *testing.T) {
		if v := tb.text(t, "#verdict .verdict"); v != strings.ToUpper(s.Verdict) || s.Verdict != diff.VerdictFail {
			t.Errorf("verdict shown %q, summary %q: want FAIL", v, s.Verdict)
		}
		line := tb.text(t, "#decision-line")
		if !strings.HasPrefix(line, "Do not move traffic") || !strings.Contains(line, "server error (5xx)") {
			t.Errorf("decision %q: want it to say not to move traffic, for the server errors", line)
		}
		cell := func(key, v string) string {
			return tb.text(t, fmt.Sprintf(`tr[data-k=%q] [data-v=%q]`, key, v))
		}
		c := s.Counts
		closeTo(t, "difference rate", cell("difference-rate", "value"), 100*float64(c.Different)/float64(c.Compared))
		closeTo(t, "candidate 5xx rate", cell("candidate-5xx", "value"), 100*float64(s.Status5xx.Candidate)/float64(c.Compared))
		closeTo(t, "legacy 5xx rate", cell("legacy-5xx", "value"), 100*float64(s.Status5xx.Legacy)/float64(c.Compared))
		if s.Status5xx.Candidate == 0 || cell("candidate-5xx", "state") != "over" {
			t.Errorf("candidate 5xx %d, state %q: want some, over", s.Status5xx.Candidate, cell("candidate-5xx", "state"))
		}
		for _, row := range []struct {
			key       string
			l, c      float64
			change    *diff.Change
			stateWant string
		}{
			{"p50-change", s.LatencyMs.Legacy.P50, s.LatencyMs.Candidate.P50, s.LatencyVerdict.P50Change, ""},
			{"p99-change", s.LatencyMs.Legacy.P99, s.LatencyMs.Candidate.P99, s.LatencyVerdict.P99Change, ""},
		} {
			nums := numbers(cell(row.key, "value"))
			if len(nums) < 2 {
				t.Errorf("%s: %q", row.key, cell(row.key, "value"))
				continue
			}
			closeTo(t, row.key+" legacy", fmt.Sprint(nums[0]), row.l)
			closeTo(t, row.key+" candidate", fmt.Sprint(nums[1]), row.c)
			if row.change != nil {
				iv := numbers(cell(row.key, "interval"))
				if len(iv) < 3 {
					t.Errorf("%s interval %q", row.key, cell(row.key, "interval"))
					continue
				}
				closeTo(t, row.key+" low", fmt.Sprint(iv[1]), row.change.LowMs)
				closeTo(t, row.key+" high", fmt.Sprint(iv[2]), row.change.HighMs)
			}
		}
		if got := cell("candidate-failed", "value"); got != strconv.FormatInt(c.Failed.Candidate, 10) {
			t.Errorf("failed shown %q, summary %d", got, c.Failed.Candidate)
		}
	})

	t.Run("the time series rises within one interval of the switch", func(t *testing.T) {
		type pt struct {
			Start string  `json:"start"`
			Value float64 `json:"value"`
		}
		points := func(series string) []pt {
			raw := eval[string](t, tb, fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('circle.pt[data-series=%q]')].map(c => ({start: c.dataset.start, value: +c.dataset.value})))`, series))
			var out []pt
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		interval := time.Duration(s.Series.IntervalS * float64(time.Second))
		for _, series := range []string{"candidate-5xx", "different"} {
			pts := points(series)
			if len(pts) < 8 {
				t.Fatalf("%s: %d points drawn, want one per second of a 10 s run", series, len(pts))
			}
			var rise time.Time
			for _, p := range pts {
				if p.Value > 0 {
					rise, _ = time.Parse(time.RFC3339, p.Start)
					break
				}
			}
			if rise.Before(switched.Add(-interval).Truncate(time.Second)) || rise.After(switched.Add(interval)) {
				t.Errorf("%s rises at %s; the switch was at %s (interval %s)", series, rise.Format(time.StampMilli), switched.Format(time.StampMilli), interval)
			}
		}
		// Latency: the candidate's per-interval medians after the switch
		// are above those before it by most of the 3 ms added.
		var before, after []float64
		for _, p := range points("candidate-p50") {
			at, _ := time.Parse(time.RFC3339, p.Start)
			switch {
			case at.Add(interval).Before(switched):
				before = append(before, p.Value)
			case at.After(switched):
				after = append(after, p.Value)
			}
		}
		if len(before) < 2 || len(after) < 2 || median(after)-median(before) < 1.5 {
			t.Errorf("candidate p50 per interval: before %v, after %v: want a rise of about 3 ms", before, after)
		}
		if w := points("weight"); len(w) == 0 || w[0].Value != 10 {
			t.Errorf("weight points %v, want 10", w)
		}
	})

	t.Run("the page reloads itself without script", func(t *testing.T) {
		if got := eval[string](t, tb, `(document.querySelector('meta[http-equiv=refresh]') || {}).content || ""`); got != "5" {
			t.Errorf("meta refresh %q, want 5", got)
		}
		deadline := time.Now().Add(15 * time.Second)
		for tb.pageLoads() < 2 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if n := tb.pageLoads(); n < 2 {
			t.Errorf("the page loaded %d time(s) in 15 s, want a reload", n)
		}
		tb.inert(t)
	})
}

var numberRE = regexp.MustCompile(`[−+-]?\d+(?:\.\d+)?`)

// numbers finds the numbers in s, reading "−" as a minus.
func numbers(s string) []float64 {
	var out []float64
	for _, m := range numberRE.FindAllString(s, -1) {
		m = strings.Replace(m, "−", "-", 1)
		if v, err := strconv.ParseFloat(m, 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// closeTo checks a shown figure (three significant digits) against the
// summary's exact one.
func closeTo(t *testing.T, what, shown string, want float64) {
	t.Helper()
	nums := numbers(shown)
	if len(nums) == 0 {
		t.Errorf("%s: %q shows no number, want %v", what, shown, want)
		return
	}
	if got := nums[0]; math.Abs(got-want) > 0.005*math.Abs(want)+1e-9 {
		t.Errorf("%s: shown %q, summary %v", what, shown, want)
	}
}

func median(v []float64) float64 {
	c := slices.Clone(v)
	slices.Sort(c)
	return c[len(c)/2]
}
