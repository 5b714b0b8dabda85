package reports

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/cutover/cutover/diff"
)

// LiveRefresh is how often a live report reloads itself.
const LiveRefresh = 5 * time.Second

// liveCSP is the page's own policy, also sent as a header: no script, no
// request of any kind, inline styles and data: images only.
const liveCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// LiveHandler serves the HTML report of summary() at each request, for an
// admin API (GET /report on the mirror and the tap). The page reloads
// itself every LiveRefresh with a meta refresh: it runs no script.
func LiveHandler(title string, summary func() diff.Summary) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := summary()
		var b bytes.Buffer
		if err := HTML(&b, &s, HTMLOptions{Title: title, Generated: time.Now(), Refresh: LiveRefresh}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", liveCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Refresh", strconv.Itoa(int(LiveRefresh.Seconds()))) // for clients that read the header
		w.WriteHeader(http.StatusOK)
		w.Write(b.Bytes()) //nolint:errcheck // the client went away
	})
}
