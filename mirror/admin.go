package mirror

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"
)

// Status is what GET /status answers.
type Status struct {
	Weight   float64                 `json:"weight"`
	SplitKey string                  `json:"split_key"`
	Sample   float64                 `json:"sample"`
	Started  time.Time               `json:"started"`
	Served   map[string]SideSnapshot `json:"served"`
	Shadow   ShadowStatus            `json:"shadow"`
}

// ShadowStatus is the state of the shadow queue.
type ShadowStatus struct {
	Queued   int   `json:"queued"`
	InFlight int64 `json:"in_flight"`
	Capacity int   `json:"capacity"`
}

// Status reports the weight, the served traffic per side and the shadow
// queue.
func (m *Mirror) Status() Status {
	return Status{
		Weight:   m.Weight(),
		SplitKey: m.cfg.SplitKey,
		Sample:   *m.cfg.Sample,
		Started:  m.started,
		Served: map[string]SideSnapshot{
			"legacy":    m.served[sideLegacy].snapshot(),
			"candidate": m.served[sideCandidate].snapshot(),
		},
		Shadow: ShadowStatus{Queued: m.shadows.queued(), InFlight: m.shadows.inFlight.Load(), Capacity: m.cfg.QueueSize},
	}
}

// adminHandler serves the admin API. Changes need "Authorization: Bearer
// TOKEN", and with no token configured they are refused outright. Reads
// need the token too when one is configured (summaries name endpoints and
// answers, profiles show memory); without one they are open, the listener
// being on loopback by default. Profiles are served only when asked for.
//
//	GET /status    Status
//	GET /summary   the summary JSON of DESIGN.md
//	GET /report    the HTML report of the summary, reloading itself (report.go)
//	PUT /weight    {"weight": 25, "lease": "30s"} (lease optional: fall back to 0 unless renewed)
//	GET /window    the current window: served counts per side and its summary
//	               (?pairs_after=N: with the latency pairs compared after the N-th)
//	POST /window   {"id": "step-3"}: start a new window (a rollout step)
//	GET /metrics   Prometheus
//	/debug/pprof/  Go profiles (with ServerConfig.Pprof)
func adminHandler(m *Mirror, results Results, token string, profiles bool) http.Handler {
	mux := http.NewServeMux()
	read := func(pattern string, h http.Handler) {
		mux.Handle(pattern, readGuard(token, h))
	}
	read("GET /status", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, m.Status())
	}))
	read("GET /summary", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, results.Summary("mirror"))
	}))
	read("GET /report", reportHandler(results))
	mux.HandleFunc("PUT /weight", func(w http.ResponseWriter, r *http.Request) {
		if msg, code := authorize(r, token); code != 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cutover"`)
			writeError(w, code, msg)
			return
		}
		var body struct {
			Weight *float64 `json:"weight"`
			// Lease, e.g. "30s", makes the weight fall back to 0 unless set again in time.
			Lease string `json:"lease"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Weight == nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`body must be JSON like {"weight": 25}: %v`, errOr(err, "weight missing")))
			return
		}
		var lease time.Duration
		if body.Lease != "" {
			var err error
			if lease, err = time.ParseDuration(body.Lease); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("lease: %v", err))
				return
			}
		}
		before := m.Weight()
		if err := m.SetWeight(*body.Weight, lease); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if before != *body.Weight {
			m.log.Info().Float64("weight", *body.Weight).Float64("was", before).Str("from", r.RemoteAddr).Msg("weight changed")
		}
		writeJSON(w, http.StatusOK, map[string]float64{"weight": m.Weight()})
	})
	read("GET /metrics", m.metrics.handler())
	if profiles {
		read("/debug/pprof/", http.HandlerFunc(pprof.Index))
		read("/debug/pprof/profile", http.HandlerFunc(pprof.Profile))
	}
	read("GET /window", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.windows == nil {
			writeError(w, http.StatusNotFound, "this mirror keeps no windows")
			return
		}
		cur := m.windows.current()
		rep := cur.report()
		if v := r.URL.Query().Get("pairs_after"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("pairs_after %q: want a count", v))
				return
			}
			p := cur.pairs.after(n)
			rep.Pairs = &p
		}
		writeJSON(w, http.StatusOK, rep)
	}))
	mux.HandleFunc("POST /window", func(w http.ResponseWriter, r *http.Request) {
		if msg, code := authorize(r, token); code != 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cutover"`)
			writeError(w, code, msg)
			return
		}
		if m.windows == nil {
			writeError(w, http.StatusNotFound, "this mirror keeps no windows")
			return
		}
		var body struct {
			ID string `json:"id"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.ID == "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`body must be JSON like {"id": "step-3"}: %v`, errOr(err, "id missing")))
			return
		}
		win := m.windows.rotate(body.ID)
		m.log.Info().Str("window", body.ID).Msg("new window")
		writeJSON(w, http.StatusOK, map[string]any{"id": win.id, "started": win.started})
	})
	return mux
}

// readGuard serves h to holders of the token, or to anyone when no token
// is configured.
func readGuard(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg, code := authorize(r, token); code != 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cutover"`)
			writeError(w, code, msg)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func authorize(r *http.Request, token string) (string, int) {
	if token == "" {
		return "changes are disabled: start the mirror with --admin-token-file", http.StatusForbidden
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
		return "a valid bearer token is required", http.StatusUnauthorized
	}
	return "", 0
}

func errOr(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
