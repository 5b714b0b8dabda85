package testbed

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Each switch must produce exactly the difference it promises and nothing
// else: tests of the diff engine, replay and mirror rely on that.
func TestSwitchesProduceExactlyTheirDifference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		switches Switches
		probe    probe
		want     []string
	}{
		{
			name:     "changed JSON field",
			switches: Switches{ChangeField: &FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`1.5`)}},
			probe:    probe{method: "GET", path: "/api/items/5", header: gz},
			want:     []string{"body.price 6.85 != 1.5"},
		},
		{
			name:     "changed nested JSON field",
			switches: Switches{ChangeField: &FieldChange{Path: "/api/items/", Field: "stock.warehouse", Value: json.RawMessage(`"cdg"`)}},
			probe:    probe{method: "GET", path: "/api/items/5"},
			want:     []string{"body.stock.warehouse ams != cdg"},
		},
		{
			name:     "changed field only on its route",
			switches: Switches{ChangeField: &FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`1.5`)}},
			probe:    probe{method: "GET", path: "/api/noisy"},
			want:     nil,
		},
		{
			name:     "missing header",
			switches: Switches{DropHeader: "Cache-Control"},
			probe:    probe{method: "GET", path: "/page"},
			want:     []string{`header Cache-Control ["public, max-age=300"] != []`},
		},
		{
			name:     "different status",
			switches: Switches{Status: &StatusChange{Path: "/api/items/", Code: 503}},
			probe:    probe{method: "GET", path: "/api/items/5"},
			want:     []string{"status 200 != 503"},
		},
		{
			name:     "different status only on its route",
			switches: Switches{Status: &StatusChange{Path: "/api/items/", Code: 503}},
			probe:    probe{method: "GET", path: "/text"},
			want:     nil,
		},
		{
			name:     "fixed latency changes nothing in the answer",
			switches: Switches{Latency: Latency{Fixed: Duration(50 * time.Millisecond)}},
			probe:    probe{method: "GET", path: "/api/items?page=3", header: gz},
			want:     nil,
		},
		{
			name:     "slow body changes nothing in the answer",
			switches: Switches{SlowBody: Duration(5 * time.Millisecond)},
			probe:    probe{method: "GET", path: "/binary"},
			want:     nil,
		},
		{
			name:     "slow gzipped body changes nothing in the answer",
			switches: Switches{SlowBody: Duration(5 * time.Millisecond)},
			probe:    probe{method: "GET", path: "/api/items?page=3", header: gz},
			want:     nil,
		},
	}
	bed := StartForTest(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One bed, switches changed over the control endpoint: subtests
			// run one at a time.
			putSwitches(t, bed.Candidate.ControlURL, tt.switches, http.StatusOK)
			legacy := fetch(t, bed.Legacy.URL, tt.probe)
			candidate := fetch(t, bed.Candidate.URL, tt.probe)
			if legacy.err != nil || candidate.err != nil {
				t.Fatalf("legacy err %v, candidate err %v", legacy.err, candidate.err)
			}
			if diff := cmp.Diff(tt.want, differences(t, legacy, candidate)); diff != "" {
				t.Errorf("differences (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorAndResetSharesAreExact(t *testing.T) {
	t.Parallel()
	bed := StartForTest(t, Config{Candidate: CandidateConfig{Switches: Switches{ErrorRate: 0.25, ResetRate: 0.2}}})
	const n = 40
	var errs, resets, ok int
	for range n {
		a := fetch(t, bed.Candidate.URL, probe{method: "GET", path: "/api/items/3"})
		switch {
		case a.err != nil:
			resets++
		case a.status == http.StatusBadGateway:
			errs++
		case a.status == http.StatusOK:
			ok++
		default:
			t.Errorf("unexpected status %d", a.status)
		}
	}
	// Resets are decided first: 8 of 40; errors take a quarter of the other 32.
	got := map[string]int{"resets": resets, "errors": errs, "ok": ok}
	want := map[string]int{"resets": 8, "errors": 8, "ok": 24}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	st := bed.Candidate.Stats()
	if st.Requests != n || st.Resets != 8 || st.Errors != 8 {
		t.Errorf("stats = %+v, want 40 requests, 8 resets, 8 errors", st)
	}
}

func TestLatencySwitchesDelay(t *testing.T) {
	t.Parallel()
	bed := StartForTest(t, Config{})
	p := probe{method: "GET", path: "/api/items/1"}

	putSwitches(t, bed.Candidate.ControlURL, Switches{Latency: Latency{Fixed: Duration(80 * time.Millisecond)}}, http.StatusOK)
	if a := fetch(t, bed.Candidate.URL, p); a.elapsed < 80*time.Millisecond {
		t.Errorf("fixed 80ms: answered in %v", a.elapsed)
	}

	// Half the draws add at least 20ms, the top 1% at least 100ms.
	putSwitches(t, bed.Candidate.ControlURL, Switches{Latency: Latency{Percentiles: []LatencyPoint{
		{Quantile: 0.5, Add: Duration(20 * time.Millisecond)},
		{Quantile: 0.99, Add: Duration(100 * time.Millisecond)},
	}}}, http.StatusOK)
	var times []time.Duration
	for range 40 {
		times = append(times, fetch(t, bed.Candidate.URL, p).elapsed)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	if times[len(times)/2] < 15*time.Millisecond {
		t.Errorf("p50 = %v, want at least ~20ms added", times[len(times)/2])
	}

	// Exactly one answer in four is 60ms late, every fourth.
	putSwitches(t, bed.Candidate.ControlURL, Switches{Latency: Latency{Share: &LatencyShare{Rate: 0.25, Add: Duration(60 * time.Millisecond)}}}, http.StatusOK)
	var late []int
	for i := range 12 {
		if fetch(t, bed.Candidate.URL, p).elapsed >= 60*time.Millisecond {
			late = append(late, i)
		}
	}
	if diff := cmp.Diff([]int{3, 7, 11}, late); diff != "" {
		t.Errorf("answers 60ms late (-want +got):\n%s", diff)
	}

	putSwitches(t, bed.Candidate.ControlURL, Switches{SlowBody: Duration(20 * time.Millisecond)}, http.StatusOK)
	slow := fetch(t, bed.Candidate.URL, probe{method: "GET", path: "/binary"})
	// 64 KiB in 4 KiB pieces: 16 pauses after the headers.
	if slow.bodyDur < 16*20*time.Millisecond {
		t.Errorf("slow body took %v after the headers, want at least 320ms", slow.bodyDur)
	}
}

func TestControlEndpoint(t *testing.T) {
	t.Parallel()
	bed := StartForTest(t, Config{})
	tests := []struct {
		name, body string
		status     int
		wantErr    string
	}{
		{"valid", `{"error_rate":0.5,"latency":{"fixed":"10ms"}}`, http.StatusOK, ""},
		{"not JSON", `{`, http.StatusBadRequest, "bad switches"},
		{"unknown switch", `{"eror_rate":0.5}`, http.StatusBadRequest, "unknown field"},
		{"rate out of range", `{"reset_rate":2}`, http.StatusBadRequest, "reset_rate must be between 0 and 1"},
		{"bad duration", `{"slow_body":"fast"}`, http.StatusBadRequest, "invalid duration"},
		{"bad status", `{"status":{"path":"/x","code":99}}`, http.StatusBadRequest, "code from 100 to 599"},
		{"bad share", `{"latency":{"share":{"rate":1.5,"add":"1ms"}}}`, http.StatusBadRequest, "latency share needs a rate between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, bed.Candidate.ControlURL+"/switches", strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var reply map[string]any
			json.NewDecoder(resp.Body).Decode(&reply)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (%v)", resp.StatusCode, tt.status, reply)
			}
			if msg, _ := reply["error"].(string); !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error = %q, want it to mention %q", msg, tt.wantErr)
			}
		})
	}
	want := Switches{ErrorRate: 0.5, Latency: Latency{Fixed: Duration(10 * time.Millisecond)}}
	if diff := cmp.Diff(want, bed.Candidate.Switches()); diff != "" {
		t.Errorf("switches after the valid PUT (-want +got):\n%s", diff)
	}
}

func putSwitches(t *testing.T, controlURL string, sw Switches, wantStatus int) {
	t.Helper()
	b, _ := json.Marshal(sw)
	req, _ := http.NewRequest(http.MethodPut, controlURL+"/switches", bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("PUT /switches = %d, want %d", resp.StatusCode, wantStatus)
	}
}
