package mirror

import (
	"net/http"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/reports"
)

// reportHandler serves the HTML report of the run so far, reloading
// itself (reports.LiveHandler).
func reportHandler(results Results) http.Handler {
	return reports.LiveHandler("cutover mirror (live)", func() diff.Summary { return results.Summary("mirror") })
}
