package mirror

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/cutover/cutover/reports"
)

// reportRefresh is how often the live report reloads itself.
const reportRefresh = 5 * time.Second

// reportCSP is the report's own policy (it is also in the page): no
// script, no request of any kind, inline styles and data: images only.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// reportHandler serves the HTML report of the run so far. It reloads
// itself with a meta refresh: the page runs no script.
func reportHandler(results Results) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		s := results.Summary("mirror")
		var b bytes.Buffer
		err := reports.HTML(&b, &s, reports.HTMLOptions{Title: "cutover mirror (live)", Generated: time.Now(), Refresh: reportRefresh})
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", reportCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Refresh", strconv.Itoa(int(reportRefresh.Seconds()))) // for clients that read the header
		w.WriteHeader(http.StatusOK)
		w.Write(b.Bytes())
	}
}
