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
	"sync"
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
	Lease time.Duration
	// Quorum is how many mirrors must answer for a measure [a majority].
	Quorum int
	client *http.Client

	mu      sync.Mutex
	cursors map[string]pairCursor // per admin URL: the pairs already read
}

// pairCursor is how far the pairs of one mirror's window were read.
type pairCursor struct {
	window string
	seq    int64
}

// BlindError means too few mirrors answered to judge a step; Missing
// names those that did not.
type BlindError struct {
	Missing          []string
	Answered, Quorum int
	Err              error
}

func (e *BlindError) Error() string {
	return fmt.Sprintf("%d of %d mirrors answered, quorum %d: not answering: %s (%v)", e.Answered, e.Answered+len(e.Missing), e.Quorum, strings.Join(e.Missing, ", "), e.Err)
}

func (e *BlindError) Unwrap() error { return e.Err }

// NewFleet returns a Fleet of the mirrors at the admin URLs.
func NewFleet(admins []string, token string) (*Fleet, error) {
	if len(admins) == 0 {
		return nil, errors.New("at least one mirror admin URL is required")
	}
	f := &Fleet{token: token, client: &http.Client{Timeout: 5 * time.Second}, cursors: map[string]pairCursor{}}
	for _, a := range admins {
		u, err := url.Parse(strings.TrimSuffix(a, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("mirror %q is not an http(s) admin URL", a)
		}
		f.admins = append(f.admins, u)
	}
	return f, nil
}

func (f *Fleet) quorum() int {
	if f.Quorum > 0 {
		return min(f.Quorum, len(f.admins))
	}
	return len(f.admins)/2 + 1
}

// Measure reads every mirror's window for windowID, at once, and sums
// those that answered, naming the others; fewer answers than the quorum
// is a *BlindError. A mirror whose window is another (it restarted, or the
// step just began) is moved to windowID and counts as empty until the
// next look.
func (f *Fleet) Measure(ctx context.Context, windowID string) (Measure, error) {
	type answer struct {
		w     mirror.WindowReport
		fresh bool
		err   error
	}
	answers := make([]answer, len(f.admins))
	var wg sync.WaitGroup
	for i, a := range f.admins {
		wg.Go(func() {
			w, fresh, err := f.window(ctx, a, windowID)
			answers[i] = answer{w, fresh, err}
		})
	}
	wg.Wait()
	m := Measure{Endpoints: map[string]EndpointCounts{}}
	m.Counts.Skipped = map[string]int64{}
	var errs []error
	for i, ans := range answers {
		if ans.err != nil {
			m.Missing = append(m.Missing, f.admins[i].Host)
			errs = append(errs, ans.err)
			continue
		}
		m.Answered++
		if ans.fresh {
			continue
		}
		m.add(ans.w)
	}
	if m.Answered < f.quorum() {
		return Measure{}, &BlindError{Missing: m.Missing, Answered: m.Answered, Quorum: f.quorum(), Err: errors.Join(errs...)}
	}
	return m, nil
}

// window reads one mirror's window with the pairs not read yet; fresh
// means it had another and was moved to windowID.
func (f *Fleet) window(ctx context.Context, a *url.URL, windowID string) (mirror.WindowReport, bool, error) {
	f.mu.Lock()
	cur := f.cursors[a.String()]
	f.mu.Unlock()
	after := int64(0)
	if cur.window == windowID {
		after = cur.seq
	}
	var w mirror.WindowReport
	if err := f.call(ctx, http.MethodGet, a, fmt.Sprintf("/window?pairs_after=%d", after), nil, &w); err != nil {
		return w, false, err
	}
	if w.ID != windowID {
		if err := f.call(ctx, http.MethodPost, a, "/window", map[string]string{"id": windowID}, nil); err != nil {
			return w, false, err
		}
		f.setCursor(a, pairCursor{window: windowID})
		return w, true, nil
	}
	if w.Pairs != nil {
		f.setCursor(a, pairCursor{window: windowID, seq: w.Pairs.Seq})
	}
	return w, false, nil
}

func (f *Fleet) setCursor(a *url.URL, c pairCursor) {
	f.mu.Lock()
	f.cursors[a.String()] = c
	f.mu.Unlock()
}

// add sums one mirror's window into m.
func (m *Measure) add(w mirror.WindowReport) {
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
	if w.Pairs != nil {
		m.Pairs.Legacy = append(m.Pairs.Legacy, w.Pairs.Legacy...)
		m.Pairs.Candidate = append(m.Pairs.Candidate, w.Pairs.Candidate...)
	}
}

// SetWeight sets the weight on every mirror (with the lease, if any). It
// fails only when fewer than the quorum took it: the others do not answer,
// which Measure names, and get it when they answer again.
func (f *Fleet) SetWeight(ctx context.Context, weight float64) error {
	body := map[string]any{"weight": weight}
	if f.Lease > 0 {
		body["lease"] = f.Lease.String()
	}
	errs := make([]error, len(f.admins))
	var wg sync.WaitGroup
	for i, a := range f.admins {
		wg.Go(func() { errs[i] = f.call(ctx, http.MethodPut, a, "/weight", body, nil) })
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if len(f.admins)-failed >= f.quorum() {
		return nil
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
