package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cutover/cutover/mirror"
)

// Fleet is the mirrors a rollout watches, through their admin APIs; their
// windows are summed as one fleet. It also sets their weight (the default
// backend).
type Fleet struct {
	admins []*url.URL
	token  string
	// Lease, when positive, is sent with every weight so that mirrors fall
	// back to 0 if the controller stops renewing it.
	Lease  time.Duration
	client *http.Client
}

// NewFleet returns a Fleet of the mirrors at the admin URLs.
func NewFleet(admins []string, token string) (*Fleet, error) {
	if len(admins) == 0 {
		return nil, errors.New("at least one mirror admin URL is required")
	}
	f := &Fleet{token: token, client: &http.Client{Timeout: 10 * time.Second}}
	for _, a := range admins {
		u, err := url.Parse(strings.TrimSuffix(a, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("mirror %q is not an http(s) admin URL", a)
		}
		f.admins = append(f.admins, u)
	}
	return f, nil
}

// Measure reads every mirror's window for windowID and sums them. A mirror
// whose window is another (it restarted, or the step just began) is moved
// to windowID and counts as empty until the next look.
func (f *Fleet) Measure(ctx context.Context, windowID string) (Measure, error) {
	m := Measure{Endpoints: map[string]EndpointCounts{}}
	m.Counts.Skipped = map[string]int64{}
	for _, a := range f.admins {
		var w mirror.WindowReport
		if err := f.call(ctx, http.MethodGet, a, "/window", nil, &w); err != nil {
			return Measure{}, err
		}
		if w.ID != windowID {
			if err := f.call(ctx, http.MethodPost, a, "/window", map[string]string{"id": windowID}, nil); err != nil {
				return Measure{}, err
			}
			continue
		}
		add := func(dst *Served, src mirror.ServedCounts) {
			dst.Requests += src.Requests
			dst.Errors += src.Errors
		}
		add(&m.Legacy, w.Served["legacy"])
		add(&m.Candidate, w.Served["candidate"])
		c := w.Summary.Counts
		m.Counts.Requests += c.Requests
		m.Counts.Compared += c.Compared
		m.Counts.Different += c.Different
		m.Counts.Failed.Legacy += c.Failed.Legacy
		m.Counts.Failed.Candidate += c.Failed.Candidate
		m.Counts.Failed.Both += c.Failed.Both
		for k, v := range c.Skipped {
			m.Counts.Skipped[k] += v
		}
		for _, e := range w.Summary.Endpoints {
			ec := m.Endpoints[e.Endpoint]
			ec.Compared += e.Compared
			ec.Different += e.Different
			m.Endpoints[e.Endpoint] = ec
		}
		m.Latency = append(m.Latency, w.Summary.LatencyVerdict)
	}
	return m, nil
}

// SetWeight sets the weight on every mirror (with the lease, if any).
func (f *Fleet) SetWeight(ctx context.Context, weight float64) error {
	body := map[string]any{"weight": weight}
	if f.Lease > 0 {
		body["lease"] = f.Lease.String()
	}
	var errs []error
	for _, a := range f.admins {
		errs = append(errs, f.call(ctx, http.MethodPut, a, "/weight", body, nil))
	}
	return errors.Join(errs...)
}

func (f *Fleet) call(ctx context.Context, method string, admin *url.URL, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, admin.String()+path, r)
	if err != nil {
		return fmt.Errorf("mirror %s: %w", admin.Host, err)
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("mirror %s: %w", admin.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		return fmt.Errorf("mirror %s: %s %s: %d %s", admin.Host, method, path, resp.StatusCode, e.Error)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("mirror %s: %s: %w", admin.Host, path, err)
		}
	}
	return nil
}
