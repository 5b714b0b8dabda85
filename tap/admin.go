package tap

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/reports"
)

// Status is what GET /status answers.
type Status struct {
	Source  string    `json:"source"`
	Started time.Time `json:"started"`
	// Window is the current window's id ("" before a rollout opened one).
	Window string `json:"window"`
	Drops  int64  `json:"kernel_drops"`
}

// AdminHandler serves the admin API of a tap, the mirror's read side and
// windows, so that `cutover rollout --mirror` gates on a tap as on a
// mirror (the weight is set elsewhere: PUT /weight is not served):
//
//	GET /status    Status
//	GET /summary   the summary JSON of DESIGN.md (source "tap")
//	GET /window    the current window: served counts per side and its summary
//	POST /window   {"id": "step-3"}: start a new window (needs the bearer token)
//	GET /metrics   Prometheus
//	GET /report    the HTML report of the summary, reloading itself
func AdminHandler(res *Results, drops func() int64, token string, log zerolog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Status{Source: SourceName, Started: res.started, Window: res.cur.Load().id, Drops: drops()})
	})
	mux.HandleFunc("GET /summary", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, res.Summary())
	})
	mux.HandleFunc("GET /window", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, res.Window())
	})
	mux.HandleFunc("POST /window", func(w http.ResponseWriter, r *http.Request) {
		if msg, code := authorize(r, token); code != 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cutover"`)
			writeJSON(w, code, map[string]string{"error": msg})
			return
		}
		var body struct {
			ID string `json:"id"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.ID == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf(`body must be JSON like {"id": "step-3"}: %v`, err)})
			return
		}
		win := res.Rotate(body.ID)
		log.Info().Str("window", body.ID).Msg("new window")
		writeJSON(w, http.StatusOK, map[string]any{"id": win.ID, "started": win.Started})
	})
	mux.Handle("GET /metrics", metricsHandler(res, drops))
	mux.Handle("GET /report", reports.LiveHandler("cutover tap (live)", res.Summary))
	return mux
}

// metricsHandler serves the tap's counts from a registry of its own.
func metricsHandler(res *Results, drops func() int64) http.Handler {
	reg := prometheus.NewRegistry()
	counts := func(f func(c countsView) float64) func() float64 {
		return func() float64 {
			c, _ := res.main.Counts()
			return f(countsView{c.Requests, c.Compared, c.Different, c.Failed.Candidate + c.Failed.Both})
		}
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cutover_tap_requests_total", Help: "Requests read off the capture."},
			counts(func(c countsView) float64 { return float64(c.requests) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cutover_tap_compared_total", Help: "Requests compared."},
			counts(func(c countsView) float64 { return float64(c.compared) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cutover_tap_different_total", Help: "Compared requests with a difference that is not noise."},
			counts(func(c countsView) float64 { return float64(c.different) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cutover_tap_candidate_failures_total", Help: "Requests the candidate gave no HTTP answer to."},
			counts(func(c countsView) float64 { return float64(c.failed) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cutover_tap_kernel_drops_total", Help: "Packets the kernel dropped from the capture."},
			func() float64 { return float64(drops()) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

type countsView struct{ requests, compared, different, failed int64 }

func authorize(r *http.Request, token string) (string, int) {
	if token == "" {
		return "changes are disabled: start the tap with --admin-token-file", http.StatusForbidden
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
		return "a valid bearer token is required", http.StatusUnauthorized
	}
	return "", 0
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
