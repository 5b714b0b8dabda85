package reports

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cutover/cutover/diff"
)

func TestLiveHandler(t *testing.T) {
	t.Parallel()
	s, _ := readFixture(t, "xss")
	calls := 0
	srv := httptest.NewServer(LiveHandler("cutover tap (live)", func() diff.Summary { calls++; return *s }))
	defer srv.Close()
	for range 2 {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("CSP %q", csp)
		}
		for _, w := range []string{`<meta http-equiv="refresh" content="5">`, "cutover tap (live)", `id="decision-line"`} {
			if !strings.Contains(page, w) {
				t.Errorf("page lacks %q", w)
			}
		}
		if strings.Contains(page, "<script") {
			t.Error("page holds a script element")
		}
	}
	if calls != 2 {
		t.Errorf("summary taken %d times for 2 requests, want each request's own", calls)
	}
}
