// Package admin is the admin API that every live source serves (the
// mirror, the tap), one implementation, so that `cutover rollout` reads a
// tap exactly as it reads a mirror:
//
//	GET  /status        the source's status
//	GET  /summary       the summary JSON of DESIGN.md
//	GET  /report        the HTML report of the summary, reloading itself
//	GET  /window        the current window (?pairs_after=N: with the latency pairs after the N-th)
//	POST /window        {"id": "step-3"}: start a new window (a rollout step)
//	GET  /metrics       Prometheus
//	     /debug/pprof/  Go profiles (with Config.Pprof)
//
// Changes need "Authorization: Bearer TOKEN", and with no token configured
// they are refused outright. Reads need the token too when one is
// configured (summaries name endpoints and answers, profiles show memory);
// without one they are open, the listener being on loopback by default.
// A source adds its own changes (the mirror's PUT /weight) with Change.
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/reports"
)

// Source is what the admin API reads of a running source and the one
// change every source takes: a new window.
type Source interface {
	// Status is what GET /status answers.
	Status() any
	// Summary is the summary JSON of the run so far.
	Summary() diff.Summary
	// Window is the current window's report, with the latency pairs
	// compared after the pairsAfter-th when pairsAfter >= 0.
	// ErrNoWindows when the source keeps none.
	Window(pairsAfter int64) (any, error)
	// Rotate starts a new window, a rollout step, named id.
	Rotate(id string) (Opened, error)
}

// Opened is what POST /window answers: the window started.
type Opened struct {
	ID      string    `json:"id"`
	Started time.Time `json:"started"`
}

// ErrNoWindows is what a source that keeps no windows returns from Window
// and Rotate: the API answers 404.
var ErrNoWindows = errors.New("keeps no windows")

// Config is how an API serves a source.
type Config struct {
	// Name names the source in messages ("mirror", "tap").
	Name string
	// Token authorises changes and, when set, reads; empty refuses every
	// change and leaves reads open.
	Token string
	// Pprof serves Go profiles at /debug/pprof/.
	Pprof bool
	// Metrics serves GET /metrics.
	Metrics http.Handler
	// ReportTitle titles the live HTML report of GET /report.
	ReportTitle string
	Log         zerolog.Logger
}

// API is the admin API of one source.
type API struct {
	mux *http.ServeMux
	cfg Config
}

var _ http.Handler = (*API)(nil)

// New serves src's admin API.
func New(src Source, cfg Config) *API {
	a := &API{mux: http.NewServeMux(), cfg: cfg}
	a.Read("GET /status", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, src.Status())
	}))
	a.Read("GET /summary", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, src.Summary())
	}))
	a.Read("GET /report", reports.LiveHandler(cfg.ReportTitle, src.Summary))
	a.Read("GET /metrics", cfg.Metrics)
	if cfg.Pprof {
		a.Read("/debug/pprof/", http.HandlerFunc(pprof.Index))
		a.Read("/debug/pprof/profile", http.HandlerFunc(pprof.Profile))
	}
	a.Read("GET /window", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after := int64(-1)
		if v := r.URL.Query().Get("pairs_after"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				WriteError(w, http.StatusBadRequest, fmt.Sprintf("pairs_after %q: want a count", v))
				return
			}
			after = n
		}
		rep, err := src.Window(after)
		if err != nil {
			a.windowError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, rep)
	}))
	a.Change("POST /window", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID string `json:"id"`
		}
		if !DecodeBody(w, r, &body, `{"id": "step-3"}`, func() string {
			if body.ID == "" {
				return "id missing"
			}
			return ""
		}) {
			return
		}
		win, err := src.Rotate(body.ID)
		if err != nil {
			a.windowError(w, err)
			return
		}
		cfg.Log.Info().Str("window", body.ID).Msg("new window")
		WriteJSON(w, http.StatusOK, win)
	})
	return a
}

func (a *API) windowError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNoWindows) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("this %s %v", a.cfg.Name, err))
		return
	}
	WriteError(w, http.StatusInternalServerError, err.Error())
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Read serves h to holders of the token, or to anyone when no token is
// configured.
func (a *API) Read(pattern string, h http.Handler) {
	if a.cfg.Token == "" {
		a.mux.Handle(pattern, h)
		return
	}
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if a.refused(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Change serves h to holders of the token only.
func (a *API) Change(pattern string, h http.HandlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if a.refused(w, r) {
			return
		}
		h(w, r)
	})
}

// refused answers a request without the token, saying why.
func (a *API) refused(w http.ResponseWriter, r *http.Request) bool {
	if a.cfg.Token == "" {
		WriteError(w, http.StatusForbidden, fmt.Sprintf("changes are disabled: start the %s with --admin-token-file", a.cfg.Name))
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.cfg.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cutover"`)
		WriteError(w, http.StatusUnauthorized, "a valid bearer token is required")
		return true
	}
	return false
}

// DecodeBody reads a change's small JSON body into v, refusing unknown
// fields; missing, when not nil, names what a decoded body still lacks.
// It answers 400 (like is an example body) and returns false when the body
// is not taken.
func DecodeBody(w http.ResponseWriter, r *http.Request, v any, like string, missing func() string) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	msg := ""
	switch {
	case err != nil:
		msg = err.Error()
	case missing != nil:
		msg = missing()
	}
	if msg == "" {
		return true
	}
	WriteError(w, http.StatusBadRequest, fmt.Sprintf("body must be JSON like %s: %s", like, msg))
	return false
}

// WriteJSON answers v, indented.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// WriteError answers {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}
