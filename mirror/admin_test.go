package mirror

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testbed"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	r := startMirror(t, bed, Config{}, ServerConfig{AdminToken: "s3cret"})
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
		{"status is open", r.admin, "GET", "/status", "", "", 200, `"weight": 0`},
		{"summary is open", r.admin, "GET", "/summary", "", "", 200, `"schema": "cutover.summary/v1"`},
		{"metrics are open", r.admin, "GET", "/metrics", "", "", 200, "cutover_mirror_weight_percent 0"},
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
	resp, err := http.Get(r.admin + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Weight != 12.5 {
		t.Errorf("status = %+v (%v), want weight 12.5", st, err)
	}
}
