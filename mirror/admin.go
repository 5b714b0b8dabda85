package mirror

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/admin"
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

// adminHandler serves the admin API (package internal/admin, the one the
// tap serves too) and its one change of the mirror's own:
//
//	PUT /weight    {"weight": 25, "lease": "30s"} (lease optional: fall back to 0 unless renewed)
func adminHandler(m *Mirror, results Results, token string, profiles bool) http.Handler {
	api := admin.New(adminSource{m, results}, admin.Config{Name: "mirror", Token: token, Pprof: profiles,
		Metrics: m.metrics.handler(), ReportTitle: "cutover mirror (live)", Log: m.log})
	api.Change("PUT /weight", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Weight *float64 `json:"weight"`
			// Lease, e.g. "30s", makes the weight fall back to 0 unless set again in time.
			Lease string `json:"lease"`
		}
		if !admin.DecodeBody(w, r, &body, `{"weight": 25}`, func() string {
			if body.Weight == nil {
				return "weight missing"
			}
			return ""
		}) {
			return
		}
		var lease time.Duration
		if body.Lease != "" {
			var err error
			if lease, err = time.ParseDuration(body.Lease); err != nil {
				admin.WriteError(w, http.StatusBadRequest, fmt.Sprintf("lease: %v", err))
				return
			}
		}
		before := m.Weight()
		if err := m.SetWeight(*body.Weight, lease); err != nil {
			admin.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		if before != *body.Weight {
			m.log.Info().Float64("weight", *body.Weight).Float64("was", before).Str("from", r.RemoteAddr).Msg("weight changed")
		}
		admin.WriteJSON(w, http.StatusOK, map[string]float64{"weight": m.Weight()})
	})
	return api
}

// adminSource is what the admin API reads of a mirror.
type adminSource struct {
	m       *Mirror
	results Results
}

var _ admin.Source = adminSource{}

func (a adminSource) Status() any { return a.m.Status() }

func (a adminSource) Summary() diff.Summary { return a.results.Summary("mirror") }

func (a adminSource) Window(pairsAfter int64) (any, error) {
	if a.m.windows == nil {
		return nil, admin.ErrNoWindows
	}
	cur := a.m.windows.current()
	rep := cur.report()
	if pairsAfter >= 0 {
		p := cur.pairs.after(pairsAfter)
		rep.Pairs = &p
	}
	return rep, nil
}

func (a adminSource) Rotate(id string) (admin.Opened, error) {
	if a.m.windows == nil {
		return admin.Opened{}, admin.ErrNoWindows
	}
	win := a.m.windows.rotate(id)
	return admin.Opened{ID: win.id, Started: win.started}, nil
}
