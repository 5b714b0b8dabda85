package mirror

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testbed"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	r := startMirror(t, bed, Config{}, ServerConfig{AdminToken: "s3cret", Pprof: true})
	noToken := startMirror(t, bed, Config{}, ServerConfig{})

	tests := []struct {
		name       string
		base       string
		method     string
		path       string
		token      string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"status needs the token", r.admin, "GET", "/status", "", "", 401, "bearer token is required"},
		{"summary needs the token", r.admin, "GET", "/summary", "guess", "", 401, "bearer token is required"},
		{"metrics need the token", r.admin, "GET", "/metrics", "", "", 401, "bearer token is required"},
		{"window needs the token", r.admin, "GET", "/window", "", "", 401, "bearer token is required"},
		{"pprof needs the token", r.admin, "GET", "/debug/pprof/", "", "", 401, "bearer token is required"},
		{"status with the token", r.admin, "GET", "/status", "s3cret", "", 200, `"weight": 0`},
		{"summary with the token", r.admin, "GET", "/summary", "s3cret", "", 200, `"schema": "cutover.summary/v1"`},
		{"metrics with the token", r.admin, "GET", "/metrics", "s3cret", "", 200, "cutover_mirror_weight_percent 0"},
		{"pprof with the token", r.admin, "GET", "/debug/pprof/", "s3cret", "", 200, "goroutine"},
		{"reads are open without a token file", noToken.admin, "GET", "/summary", "", "", 200, `"schema": "cutover.summary/v1"`},
		{"pprof is off unless asked for", noToken.admin, "GET", "/debug/pprof/", "", "", 404, ""},
		{"change without token", r.admin, "PUT", "/weight", "", `{"weight":10}`, 401, "bearer token is required"},
		{"change with a wrong token", r.admin, "PUT", "/weight", "guess", `{"weight":10}`, 401, "bearer token is required"},
		{"not JSON", r.admin, "PUT", "/weight", "s3cret", `ten`, 400, "body must be JSON"},
		{"no weight", r.admin, "PUT", "/weight", "s3cret", `{}`, 400, "weight missing"},
		{"unknown field", r.admin, "PUT", "/weight", "s3cret", `{"wieght":1}`, 400, "unknown field"},
		{"out of range", r.admin, "PUT", "/weight", "s3cret", `{"weight":250}`, 400, "between 0 and 100"},
		{"valid change", r.admin, "PUT", "/weight", "s3cret", `{"weight":12.5}`, 200, `"weight": 12.5`},
		{"changes disabled without a token file", noToken.admin, "PUT", "/weight", "anything", `{"weight":1}`, 403, "--admin-token-file"},
	}
	for _, tt := range tests {
		// Sequential: the valid change must come after the refused ones.
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.base+tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if w := r.m.Weight(); w != 12.5 {
		t.Errorf("weight after the changes = %g, want 12.5 (only the valid change applies)", w)
	}
	var st Status
	req, _ := http.NewRequest("GET", r.admin+"/status", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Weight != 12.5 {
		t.Errorf("status = %+v (%v), want weight 12.5", st, err)
	}
}

func TestWindowsAndLease(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true})
	r := startMirror(t, bed, Config{}, ServerConfig{AdminToken: "tok"})
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, r.admin+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := range 4 {
		get(r.url, "/api/items/"+string(rune('1'+i)), nil)
	}
	waitAccounted(t, r.agg, 4)
	if code, body := call("POST", "/window", `{"id":"step-1"}`); code != 200 || !strings.Contains(body, `"id": "step-1"`) {
		t.Fatalf("POST /window = %d %s", code, body)
	}
	for range 3 {
		get(r.url, "/api/items/9", nil)
	}
	waitAccounted(t, r.agg, 7)
	waitIdle(t, r.m)
	_, body := call("GET", "/window", "")
	var rep WindowReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ID != "step-1" || rep.Served["legacy"].Requests != 3 || rep.Summary.Counts.Requests != 3 || rep.Summary.Counts.Different != 0 {
		t.Errorf("window = id %q served %+v counts %+v: want step-1 with the 3 later requests only", rep.ID, rep.Served, rep.Summary.Counts)
	}
	if code, body := call("POST", "/window", `{}`); code != 400 || !strings.Contains(body, "id missing") {
		t.Errorf("POST /window without id = %d %s", code, body)
	}

	if code, body := call("PUT", "/weight", `{"weight":30,"lease":"150ms"}`); code != 200 {
		t.Fatalf("PUT /weight with lease = %d %s", code, body)
	}
	if w := r.m.Weight(); w != 30 {
		t.Fatalf("weight %g, want 30 while the lease runs", w)
	}
	time.Sleep(250 * time.Millisecond)
	if w := r.m.Weight(); w != 0 {
		t.Errorf("weight %g after the lease ran out, want the fail-safe 0", w)
	}
	if code, body := call("PUT", "/weight", `{"weight":30,"lease":"soon"}`); code != 400 || !strings.Contains(body, "lease") {
		t.Errorf("bad lease = %d %s", code, body)
	}
}
