package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// WebhookPayload is what webhooks receive as a JSON POST.
type WebhookPayload struct {
	Rollout string       `json:"rollout"`
	Event   string       `json:"event"`
	Status  string       `json:"status"`
	Step    int          `json:"step"` // 1-based, as people count
	Weight  float64      `json:"weight"`
	Reason  string       `json:"reason"`
	Actor   string       `json:"actor"`
	Time    time.Time    `json:"time"`
	Gates   []GateResult `json:"gates"`
}

// notify posts e to every webhook; a hook that fails is reported, never
// allowed to stop the rollout.
func notify(ctx context.Context, client *http.Client, hooks []string, name string, e Event) []error {
	p := WebhookPayload{Rollout: name, Event: e.Kind, Status: e.Status, Step: e.Step + 1, Weight: e.Weight,
		Reason: e.Reason, Actor: e.Actor, Time: e.Time, Gates: orEmpty(e.Gates)}
	body, _ := json.Marshal(p)
	var errs []error
	for _, h := range hooks {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
		}
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: %w", h, err))
		}
	}
	return errs
}

// notifies says which event kinds webhooks hear about: the transitions,
// not the gate evaluations in between.
func notifies(kind string) bool {
	switch kind {
	case EventStarted, EventStep, EventPaused, EventResumed, EventRolledBack, EventPromoted, EventAborted, EventWeightSet,
		EventInterrupted, EventDeadline, EventInsufficient, EventMirrorsMissing, EventDryRunFailed, EventPlanChanged,
		EventWeightDrift, EventBackendFailed, EventBackendRecovered:
		return true
	}
	return false
}
