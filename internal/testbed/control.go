package testbed

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// controlHandler is the candidate's control endpoint, on its own listener so
// that switches such as resets and latency never touch it:
//
//	GET /switches   the switches in force
//	PUT /switches   replace them (JSON of Switches; 400 with a reason if bad)
//	GET /stats      what the candidate did so far
func controlHandler(c *Candidate) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /switches", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, c.Switches())
	})
	mux.HandleFunc("PUT /switches", func(w http.ResponseWriter, r *http.Request) {
		var sw Switches
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sw); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("bad switches: %v", err)})
			return
		}
		if err := c.SetSwitches(sw); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, c.Switches())
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, c.Stats())
	})
	return mux
}
