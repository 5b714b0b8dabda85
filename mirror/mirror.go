package mirror

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/upstream"
)

// Recorder receives every request's outcome: a compared exchange, or the
// reason it was not compared. An exchange is compared once and the one
// comparison recorded into the run and into the current window, which
// Window makes with the noise learned so far. *diff.Aggregator is one.
type Recorder interface {
	Endpoint(method, uri string) string
	Compare(ex *diff.Exchange) *diff.Comparison
	Record(c *diff.Comparison)
	Skip(endpoint, reason string)
	// CompareNoise and RecordNoise learn what legacy varies on from two
	// legacy answers to one request.
	CompareNoise(req diff.Request, first, second *diff.Response) *diff.NoiseSample
	RecordNoise(n *diff.NoiseSample)
	Window() *diff.Aggregator
}

var _ Recorder = (*diff.Aggregator)(nil)

// sender is how both sides are sent to: one sender, one clock. Prepare
// readies each side, so that the client's goroutine puts both on the wire
// back to back (upstream.StartTogether) without waiting; the handler
// finishes the primary, a worker the shadow.
type sender interface {
	Send(ctx context.Context, base *url.URL, out *upstream.Outgoing) *diff.Response
	Prepare(base *url.URL, out *upstream.Outgoing) upstream.Pending
}

var _ sender = (*upstream.Client)(nil)

// Mirror is the shadow proxy's handler. Create it with New, serve it with
// any http.Server, and Close it to drain the shadows.
type Mirror struct {
	cfg      Config
	log      zerolog.Logger
	rec      Recorder
	split    *splitter
	targets  [2]*url.URL
	primary  sender // the client's answer, relayed as read
	upgrades [2]*httputil.ReverseProxy
	clients  []*upstream.Client // to close
	shadows  *shadowPool
	budget   *budget
	served   [2]*sideStats
	metrics  *metrics
	started  time.Time
	windows  *windows

	// leaseUntil, when not zero, is when the weight falls back to 0 unless
	// renewed (UnixNano): the fail-safe for a controller that died.
	leaseUntil atomic.Int64
}

// primaryTimeout bounds one primary exchange. The client's own going away
// cancels it; the bound is for a target that never finishes.
const primaryTimeout = 24 * time.Hour

// New builds a Mirror from a valid cfg. Its shadow workers run until Close.
func New(cfg Config, rec Recorder, log zerolog.Logger) (*Mirror, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Mirror{cfg: cfg, log: log, rec: rec, split: newSplitter(cfg), started: time.Now()}
	m.targets = [2]*url.URL{sideLegacy: cfg.Legacy, sideCandidate: cfg.Candidate}
	m.served = [2]*sideStats{newSideStats(), newSideStats()}
	m.metrics = newMetrics(m)
	m.budget = newBudget(cfg.BodyBudget)
	m.upgrades = [2]*httputil.ReverseProxy{newUpgradeProxy(cfg.Legacy, log), newUpgradeProxy(cfg.Candidate, log)}
	// Both sides are sent by the same sender with the same clock; the
	// shadow's copies only carry the shadow header and a shorter timeout.
	primary := upstream.New(upstream.Config{Timeout: primaryTimeout, MaxBody: cfg.MaxBody + 1, MaxConnsPerTarget: 1024, Proto: cfg.UpstreamProto, TLS: cfg.UpstreamTLS})
	shadow := upstream.New(upstream.Config{
		Timeout:           cfg.ShadowTimeout,
		MaxBody:           cfg.MaxBody + 1, // one byte more tells "over the cap" from "exactly at it"
		Header:            http.Header{ShadowHeader: {"1"}},
		MaxConnsPerTarget: 1024,
		Proto:             cfg.UpstreamProto, TLS: cfg.UpstreamTLS,
	})
	m.primary, m.clients = primary, []*upstream.Client{primary, shadow}
	m.windows = newWindows(rec)
	m.shadows = newShadowPool(cfg, shadow, m.targets, m.settle, log)
	if cfg.Secondary == nil && cfg.NoiseSamples > 0 {
		m.shadows.noiseLeft.Store(int64(cfg.NoiseSamples))
	}
	return m, nil
}

// Weight is the percentage of users the candidate serves now.
func (m *Mirror) Weight() float64 {
	m.expireLease()
	return m.split.weight()
}

// SetWeight changes the share of users the candidate serves, from the next
// request on. A positive lease makes the weight fall back to 0 unless it is
// set again within the lease: a controller that dies leaves the candidate
// serving no one after a bounded time.
func (m *Mirror) SetWeight(percent float64, lease time.Duration) error {
	if err := validPercent("weight", percent); err != nil {
		return err
	}
	if lease < 0 {
		return fmt.Errorf("lease must not be negative, got %s", lease)
	}
	var until int64
	if lease > 0 {
		until = time.Now().Add(lease).UnixNano()
	}
	m.leaseUntil.Store(until)
	m.split.setWeight(percent)
	m.metrics.weight.Set(percent)
	return nil
}

// expireLease applies the fail-safe once the lease ran out. It is checked
// where the weight is read, so no timer goroutine is needed.
func (m *Mirror) expireLease() {
	until := m.leaseUntil.Load()
	if until == 0 || time.Now().UnixNano() < until || !m.leaseUntil.CompareAndSwap(until, 0) {
		return
	}
	m.log.Warn().Float64("weight", m.split.weight()).Msg("weight lease expired: falling back to weight 0")
	m.split.setWeight(0)
	m.metrics.weight.Set(0)
}

// Close stops taking shadow copies and waits for those queued until ctx is
// done; whatever is left then is counted as skipped "shutdown".
func (m *Mirror) Close(ctx context.Context) {
	m.shadows.close(ctx)
	for _, c := range m.clients {
		c.Close()
	}
}

// ServeHTTP serves r from the primary side and hands a copy to the shadow
// as soon as the request and its body are known, so that both sides are
// sent at the same moment of load. The client never waits for the shadow.
func (m *Mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.expireLease()
	primary, sampled := m.split.route(r)
	endpoint := m.rec.Endpoint(r.Method, r.URL.RequestURI())
	skip := m.skipReason(r, sampled)
	if skip == ReasonUpgrade {
		// A tunnel can live for hours and outlive a graceful shutdown
		// (hijacked connections are not waited for): count it now.
		m.skip(endpoint, skip)
		m.upgrades[primary].ServeHTTP(w, r)
		return
	}

	req := diff.Request{Method: r.Method, URI: r.URL.RequestURI(), Host: r.Host, Header: forwardedHeader(r)}
	out := &upstream.Outgoing{Req: &req, Keep: -1} // what is not compared is never kept
	acct := m.budget.account()
	// ContentLength 0 is a request without a body whatever its Body says
	// (HTTP/2 gives a GET an empty reader).
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	switch {
	case hasBody && skip == "":
		body, rest, reason, fault := readRequestBody(r, m.cfg.MaxBody, acct)
		if fault != "" {
			acct.release()
			m.refuse(w, primary, endpoint, fault)
			return
		}
		req.Body, skip = body, reason
		if rest != nil {
			out.Body, out.ContentLength = rest, r.ContentLength
		}
	case hasBody:
		out.Body, out.ContentLength = r.Body, r.ContentLength
	}

	relay := newClientRelay(w)
	out.Relay = relay
	var p *pair
	if skip == "" {
		out.Keep, out.Budget = m.cfg.MaxBody+1, acct
	}
	sent := m.primary.Prepare(m.targets[primary], out)
	if skip == "" {
		p = &pair{endpoint: endpoint, time: time.Now(), req: req, primary: primary, acct: acct}
		if reason := m.shadows.submit(p, connOf(r), sent); reason != "" {
			skip, p = reason, nil
			out.Keep, out.Budget = -1, nil
		}
	}
	if p == nil {
		sent.Start()
	}
	answer := sent.Finish(r.Context())
	fault := ""
	switch {
	case out.BodyErr != nil:
		fault = bodyFault(out.BodyErr)
	case out.RelayErr != nil || (answer.Err != "" && r.Context().Err() != nil):
		fault = ReasonClientAborted
	}
	switch {
	case fault == ReasonClientError && !relay.started:
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
	case answer.Status == 0 && !relay.started && fault == "":
		w.WriteHeader(http.StatusBadGateway)
	case answer.Err == "":
		relay.trailer(answer.Trailer)
	}
	m.observe(primary, endpoint, answer, fault)

	if p != nil {
		m.shadows.primaryDone(p, answer, cmp.Or(fault, keptReason(answer, out)))
	} else {
		acct.release()
		m.skip(endpoint, cmp.Or(skip, fault))
	}
	if relay.started && answer.Err != "" && fault == "" {
		// The answer broke off mid-body: the client must see it broken,
		// not complete.
		panic(http.ErrAbortHandler)
	}
}

// keptReason says why an answer whose body was kept cannot be compared.
func keptReason(a *diff.Response, out *upstream.Outgoing) string {
	switch {
	case out.OverBudget:
		return ReasonBodyBudget
	case a.BodyTruncated:
		return ReasonBodyOverCap
	}
	return ""
}

// refuse answers a request whose body was malformed (400, as NGINX does)
// or whose client went away; it reaches neither side.
func (m *Mirror) refuse(w http.ResponseWriter, primary side, endpoint, fault string) {
	if fault == ReasonClientError {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
	}
	m.skip(endpoint, fault)
}

// observe counts the served answer for the rollout gates and metrics. A
// client's fault is not the serving side's error: it counts as a 4xx
// (499, NGINX's "client closed request", when the client went away).
func (m *Mirror) observe(primary side, endpoint string, a *diff.Response, fault string) {
	if fault != "" {
		status := statusClientClosed
		if fault == ReasonClientError {
			status = http.StatusBadRequest
		}
		a = &diff.Response{Status: status, Total: a.Total}
	}
	m.served[primary].observe(a)
	m.windows.observe(primary, a)
	m.metrics.observeServed(primary, endpoint, a)
}

// statusClientClosed is NGINX's status for a client that closed first.
const statusClientClosed = 499

// settle counts a request whose primary and shadow are both done: skipped
// with the first reason either side gave, else compared once and recorded
// into the run and the current window.
func (m *Mirror) settle(p *pair) {
	defer p.acct.release()
	if reason := cmp.Or(p.primarySkip, p.shadowSkip); reason != "" {
		m.skip(p.endpoint, reason)
		return
	}
	win := m.windows.current().agg
	if p.noise != nil {
		first := p.primaryAnswer
		if p.primary != sideLegacy {
			first = p.shadow
		}
		n := m.rec.CompareNoise(p.req, first, p.noise)
		m.rec.RecordNoise(n)
		win.RecordNoise(n)
	}
	ex := &diff.Exchange{Time: p.time, Request: p.req, Secondary: p.secondary, Weight: m.Weight()} // the weight for the time series
	if p.primary == sideLegacy {
		ex.Legacy, ex.Candidate = p.primaryAnswer, p.shadow
	} else {
		ex.Legacy, ex.Candidate = p.shadow, p.primaryAnswer
	}
	m.metrics.observeCompared(ex)
	c := m.rec.Compare(ex)
	m.rec.Record(c)
	win.Record(c)
}

// skipReason says why r will not be shadowed, before it is served.
func (m *Mirror) skipReason(r *http.Request, sampled bool) string {
	switch {
	case r.Header.Get("Upgrade") != "" || strings.EqualFold(r.Header.Get("Connection"), "upgrade"):
		return ReasonUpgrade
	case !sampled:
		return ReasonSampledOut
	case !m.cfg.Unsafe && unsafeMethod(r.Method):
		return ReasonUnsafe
	case r.ContentLength > m.cfg.MaxBody:
		return ReasonBodyOverCap
	}
	return ""
}

func unsafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

func (m *Mirror) skip(endpoint, reason string) {
	m.rec.Skip(endpoint, reason)
	m.windows.current().agg.Skip(endpoint, reason)
	m.metrics.shadowSkipped.WithLabelValues(reason).Inc()
}

// forwardedHeader is the request's header as the primary got it: the
// shadow must see the same X-Forwarded-* as the primary did.
func forwardedHeader(r *http.Request) http.Header {
	h := r.Header.Clone()
	pr := &httputil.ProxyRequest{In: r, Out: &http.Request{Header: h, Host: r.Host}}
	h.Del("X-Forwarded-For")
	pr.SetXForwarded()
	return h
}
