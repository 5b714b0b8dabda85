package mirror

import (
	"context"
	"fmt"
	stdlog "log"
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
// reason it was not compared. *diff.Aggregator is one.
type Recorder interface {
	Add(ex *diff.Exchange)
	Skip(endpoint, reason string)
	Endpoint(method, uri string) string
}

// noiseLearner is a Recorder that can also learn what legacy varies on
// from two legacy answers to one request (*diff.Aggregator can).
type noiseLearner interface {
	AddNoiseSample(req diff.Request, first, second *diff.Response)
}

// Mirror is the shadow proxy's handler. Create it with New, serve it with
// any http.Server, and Close it to drain the shadows.
type Mirror struct {
	cfg     Config
	log     zerolog.Logger
	rec     Recorder
	split   *splitter
	proxies [2]*httputil.ReverseProxy
	shadows *shadowPool
	served  [2]*sideStats
	metrics *metrics
	started time.Time
	windows *windows // nil when rec cannot make windows

	// leaseUntil, when not zero, is when the weight falls back to 0 unless
	// renewed (UnixNano): the fail-safe for a controller that died.
	leaseUntil atomic.Int64
}

// New builds a Mirror from a valid cfg. Its shadow workers run until Close.
func New(cfg Config, rec Recorder, log zerolog.Logger) (*Mirror, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Mirror{cfg: cfg, log: log, rec: rec, split: newSplitter(cfg), started: time.Now()}
	m.served = [2]*sideStats{newSideStats(), newSideStats()}
	m.metrics = newMetrics(m)
	m.proxies[sideLegacy] = m.newProxy(cfg.Legacy)
	m.proxies[sideCandidate] = m.newProxy(cfg.Candidate)
	client := upstream.New(upstream.Config{
		Timeout: cfg.ShadowTimeout,
		MaxBody: cfg.MaxBody + 1, // one byte more tells "over the cap" from "exactly at it"
		Header:  http.Header{ShadowHeader: {"1"}},
	})
	if w, ok := rec.(windower); ok {
		m.windows = newWindows(w)
	}
	m.shadows = newShadowPool(cfg, client, m.record, m.skip, log)
	if _, ok := rec.(noiseLearner); ok && cfg.Secondary == nil && cfg.NoiseSamples > 0 {
		m.shadows.noise = m.learnNoise
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

// record counts a finished shadow exchange, in the run and in the window.
func (m *Mirror) record(ex *diff.Exchange) {
	m.metrics.observeCompared(ex)
	ex.Weight = m.Weight() // for the time series
	m.rec.Add(ex)
	if m.windows != nil {
		m.windows.current().agg.Add(ex)
	}
}

func (m *Mirror) learnNoise(req diff.Request, first, second *diff.Response) {
	m.rec.(noiseLearner).AddNoiseSample(req, first, second)
	if m.windows != nil {
		m.windows.current().agg.AddNoiseSample(req, first, second)
	}
}

// Close stops taking shadow copies and waits for those queued until ctx is
// done; whatever is left then is counted as skipped "shutdown".
func (m *Mirror) Close(ctx context.Context) { m.shadows.close(ctx) }

// flight is what the primary path learns of one request.
type flight struct {
	start     time.Time
	headersAt time.Time
	status    int
	proto     string
	header    http.Header
	capture   *answerCapture
	err       string
}

type flightKey struct{}

func (m *Mirror) newProxy(target *url.URL) *httputil.ReverseProxy {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// The default keeps 2 idle connections per host: under load a proxy
	// would open and close a connection for most requests.
	transport.MaxIdleConns = 1024
	transport.MaxIdleConnsPerHost = 512
	transport.Proxy = nil
	return &httputil.ReverseProxy{
		Transport: transport,
		// The proxy's own complaints (a body copy cut off) go to our
		// logger, never to the standard library's global one.
		ErrorLog: stdlog.New(m.log.With().Str("component", "proxy").Logger(), "", 0),
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the target sees the host the client asked for
			pr.SetXForwarded()
		},
		ModifyResponse: func(resp *http.Response) error {
			f, _ := resp.Request.Context().Value(flightKey{}).(*flight)
			if f == nil || resp.StatusCode == http.StatusSwitchingProtocols {
				// An upgraded connection's body is the tunnel itself: the
				// proxy needs it writable, and it is never compared.
				return nil
			}
			f.headersAt = time.Now()
			f.status, f.proto, f.header = resp.StatusCode, resp.Proto, resp.Header.Clone()
			f.capture = &answerCapture{r: resp.Body, cap: m.cfg.MaxBody}
			resp.Body = f.capture
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if f, _ := r.Context().Value(flightKey{}).(*flight); f != nil {
				f.err = upstream.Describe(err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
}

// ServeHTTP serves r from the primary side and hands a copy to the shadow.
func (m *Mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.expireLease()
	primary, sampled := m.split.route(r)
	endpoint := m.rec.Endpoint(r.Method, r.URL.RequestURI())
	skip := m.skipReason(r, sampled)
	if skip == "upgrade" {
		// A tunnel can live for hours and outlive a graceful shutdown
		// (hijacked connections are not waited for): count it now.
		m.skip(endpoint, skip)
		m.proxies[primary].ServeHTTP(w, r)
		return
	}

	var tee *teeBody
	// ContentLength 0 is a request without a body whatever its Body says
	// (HTTP/2 gives a GET an empty reader; the proxy then never reads it).
	if skip == "" && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		tee = &teeBody{r: r.Body, cap: m.cfg.MaxBody}
		r.Body = tee
	}
	f := &flight{start: time.Now()}
	r = r.WithContext(context.WithValue(r.Context(), flightKey{}, f))

	// The ReverseProxy aborts with http.ErrAbortHandler when the answer
	// breaks off mid-body; account for the request, then let it go on.
	defer func() {
		if p := recover(); p != nil {
			if f.err == "" {
				f.err = "answer broke off"
			}
			m.finish(r, primary, endpoint, skip, f, tee)
			panic(p)
		}
	}()
	m.proxies[primary].ServeHTTP(w, r)
	m.finish(r, primary, endpoint, skip, f, tee)
}

// skipReason says why r will not be shadowed, before it is served.
func (m *Mirror) skipReason(r *http.Request, sampled bool) string {
	switch {
	case r.Header.Get("Upgrade") != "" || strings.EqualFold(r.Header.Get("Connection"), "upgrade"):
		return "upgrade"
	case !sampled:
		return "sampled_out"
	case !m.cfg.Unsafe && unsafeMethod(r.Method):
		return "unsafe"
	case r.ContentLength > m.cfg.MaxBody:
		return "body_over_cap"
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

// finish records the served answer and sends the shadow copy, or counts
// why there is none. Every request ends here exactly once.
func (m *Mirror) finish(r *http.Request, primary side, endpoint, skip string, f *flight, tee *teeBody) {
	answer := f.answer()
	m.served[primary].observe(answer)
	if m.windows != nil {
		m.windows.observe(primary, answer)
	}
	m.metrics.observeServed(primary, endpoint, answer)

	switch {
	case skip != "":
	case r.Context().Err() != nil && answer.Err != "":
		skip = "client_aborted"
	case tee != nil && !tee.complete():
		skip = "body_over_cap"
		if !tee.over {
			skip = "client_aborted"
		}
	case answer.BodyTruncated:
		skip = "body_over_cap"
	}
	if skip != "" {
		m.skip(endpoint, skip)
		return
	}
	req := diff.Request{
		Method: r.Method,
		URI:    r.URL.RequestURI(),
		Host:   r.Host,
		Header: forwardedHeader(r),
	}
	if tee != nil {
		req.Body = tee.buf.Bytes()
	}
	job := &shadowJob{endpoint: endpoint, time: f.start, req: req, primary: primary, primaryAnswer: answer}
	if reason := m.shadows.submit(job); reason != "" {
		m.skip(endpoint, reason)
	}
}

func (m *Mirror) skip(endpoint, reason string) {
	m.rec.Skip(endpoint, reason)
	if m.windows != nil {
		m.windows.current().agg.Skip(endpoint, reason)
	}
	m.metrics.shadowSkipped.WithLabelValues(reason).Inc()
}

// answer turns what the primary path saw into the diff model.
func (f *flight) answer() *diff.Response {
	if f.status == 0 {
		msg := f.err
		if msg == "" {
			msg = "no answer"
		}
		return &diff.Response{Err: msg, Total: time.Since(f.start)}
	}
	a := &diff.Response{Status: f.status, Proto: f.proto, Header: f.header, TTFB: f.headersAt.Sub(f.start)}
	c := f.capture
	a.Body, a.BodyTruncated = c.buf.Bytes(), c.truncated
	a.Total = c.end.Sub(f.start)
	if c.end.IsZero() {
		a.Total = time.Since(f.start)
	}
	if !c.eof && f.err != "" {
		a.Err = "reading body: " + f.err
	}
	return a
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
