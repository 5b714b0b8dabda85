// Package upstream sends one request to one target and captures its whole
// answer with timing. It is the single sending path of every source: replay
// re-sends captured requests with it, and mirror sends both sides with it,
// the primary relayed to the client as it is read (Outgoing.Relay), both
// put on the wire together by the client's goroutine (Client.Prepare,
// StartTogether), as replay does with its sides. Every side is
// timed alike: from the request's first byte written to the answer's first
// and last byte received, by the kernel's receive timestamps where the
// connection has them (stamp.go), never the time spent on the client's
// body or reads, in a queue or waiting for a goroutine.
package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cutover/cutover/diff"
)

// Config tunes a Client. The zero value is usable.
type Config struct {
	// Timeout bounds one exchange, from dial to the last body byte.
	// Zero means 30s.
	Timeout time.Duration
	// MaxBody caps the answer body kept; the rest is read and dropped and
	// the Response is marked BodyTruncated. Zero means 8 MiB.
	MaxBody int64
	// MaxConnsPerTarget caps open connections per target. Zero means 256.
	MaxConnsPerTarget int
	// Header is added to every request sent (e.g. X-Cutover-Shadow: 1).
	Header http.Header
	// Proto is the protocol spoken to targets: ProtoH1 (""), ProtoH2 or
	// ProtoAuto (h2.go).
	Proto string
	// TLS configures connections to https targets (trusted roots, say);
	// nil means Go's defaults.
	TLS *tls.Config
}

// Client sends requests to targets. It is safe for concurrent use.
type Client struct {
	cfg   Config
	http  *http.Client // https targets
	plain *plainPool   // http targets
	h2    *h2Sender    // with Proto h2 or auto: the targets it handles
}

// New returns a Client with its own connection pool.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 8 << 20
	}
	if cfg.MaxConnsPerTarget <= 0 {
		cfg.MaxConnsPerTarget = 256
	}
	transport := &http.Transport{
		Proxy:               nil, // targets are addressed directly, never via an environment proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * cfg.MaxConnsPerTarget,
		MaxIdleConnsPerHost: cfg.MaxConnsPerTarget,
		MaxConnsPerHost:     cfg.MaxConnsPerTarget,
		IdleConnTimeout:     90 * time.Second,
		// The answer is compared as the target sent it: no transparent gzip.
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       cfg.TLS.Clone(),
	}
	var h2 *h2Sender
	if cfg.Proto == ProtoH2 || cfg.Proto == ProtoAuto {
		h2 = newH2Sender(cfg)
	}
	return &Client{
		cfg:   cfg,
		h2:    h2,
		plain: newPlainPool(cfg),
		http: &http.Client{
			Transport: transport,
			// A redirect is an answer to compare, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Close drops idle connections.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
	c.plain.close()
	if c.h2 != nil {
		c.h2.close()
	}
}

// Do sends req to the target at base (scheme://host[:port][/prefix]) and
// returns its answer, the body kept up to Config.MaxBody. It never returns
// nil: a transport failure (refused, reset, timeout, cancelled) is a
// Response with Err set, because for the caller it is an outcome to count,
// not a reason to stop.
//
// The Host header of req is kept, so a target sees the host the client
// asked for; req.URI is appended to base's path.
func (c *Client) Do(ctx context.Context, base *url.URL, req *diff.Request) *diff.Response {
	return c.Send(ctx, base, &Outgoing{Req: req})
}

// Send sends out.Req to the target at base, as Do does, with what out asks
// for besides: a streamed body, a relay, a keep limit and a budget. Over
// HTTP/2 (Config.Proto) a request that streams or relays (the mirror's
// primary) goes the way of https targets, on the HTTP/2 transport.
func (c *Client) Send(ctx context.Context, base *url.URL, out *Outgoing) *diff.Response {
	client := c.http
	switch {
	case c.h2 != nil && c.h2.handles(ctx, base):
		if out.Body == nil && out.Relay == nil {
			return c.h2.do(ctx, base, out.Req)
		}
		client = c.h2.client(base)
	case base.Scheme == "http":
		return c.plain.send(ctx, base, out) // applies the timeout itself
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	var w stopwatch
	hreq, err := c.newRequest(w.trace(ctx), base, out)
	if err != nil {
		return &diff.Response{Err: err.Error()}
	}
	var br *bodyReader
	if out.Body != nil {
		br = &bodyReader{r: out.Body}
		hreq.Body, hreq.ContentLength = io.NopCloser(br), out.ContentLength
		hreq.GetBody = nil
	}
	w.call()
	resp, err := client.Do(hreq)
	w.returned()
	if br != nil && br.err != nil {
		out.BodyErr = br.err
		return &diff.Response{Err: "reading request body: " + Describe(br.err), Total: w.since()}
	}
	if err != nil {
		return &diff.Response{Err: Describe(err), Total: w.since()}
	}
	defer resp.Body.Close()
	r := &diff.Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header}
	if !w.firstByte.IsZero() {
		r.TTFB = w.firstByte.Sub(w.start)
	}
	if out.Relay != nil {
		t := time.Now()
		if err := out.Relay.Head(resp.StatusCode, resp.Proto, resp.Header); err != nil {
			out.RelayErr = err
			r.Err, r.Total = "relaying answer: "+Describe(err), w.since()
			return r
		}
		w.start = w.start.Add(time.Since(t)) // the client's time is not the upstream's
	}
	limit := out.Keep
	if limit == 0 {
		limit = c.cfg.MaxBody
	}
	var k *keeper
	if limit > 0 {
		k = &keeper{limit: limit, budget: out.Budget}
		k.reserve(resp.ContentLength)
	}
	var clock relayClock
	err = consume(resp.Body, func() bool { return false }, k, out, &clock)
	r.Total = w.since()
	if !clock.lastRead.IsZero() {
		r.Total = clock.lastRead.Sub(w.start) - clock.waitAtLast
	}
	r.Trailer = resp.Trailer
	if k != nil {
		r.Body, r.BodyTruncated, out.OverBudget = k.body(), k.truncated, k.refused
	}
	if err != nil {
		// Headers came but the body broke off: no whole HTTP answer.
		if out.RelayErr != nil {
			r.Err = "relaying answer: " + Describe(err)
		} else {
			r.Err = "reading body: " + Describe(err)
		}
	}
	return r
}

func (c *Client) newRequest(ctx context.Context, base *url.URL, out *Outgoing) (*http.Request, error) {
	req := out.Req
	u, err := url.Parse(strings.TrimSuffix(base.String(), "/") + req.URI)
	if err != nil {
		return nil, fmt.Errorf("request uri %q: %w", req.URI, err)
	}
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, vs := range req.Header {
		if hopByHop(k) {
			continue
		}
		hreq.Header[k] = append([]string(nil), vs...)
	}
	for k, vs := range c.cfg.Header {
		hreq.Header[k] = append([]string(nil), vs...)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		hreq.Header["User-Agent"] = nil // send none rather than Go's own
	}
	if req.Host != "" {
		hreq.Host = req.Host
	}
	hreq.ContentLength = int64(len(req.Body))
	return hreq, nil
}

// hopByHop headers belong to one connection; the client manages its own.
func hopByHop(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host":
		return true
	}
	return false
}

// Describe turns a transport error into a short, stable reason.
func Describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	s := err.Error()
	for _, known := range []string{"connection refused", "connection reset by peer", "EOF", "broken pipe", "no such host"} {
		if strings.Contains(s, known) {
			return known
		}
	}
	return s
}

// Reachable checks that a TCP connection to base's host can be opened: the
// start-up check behind "unreachable target at start" (exit code 2).
func Reachable(ctx context.Context, base *url.URL) error {
	host := base.Host
	if base.Port() == "" {
		port := "80"
		if base.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(base.Hostname(), port)
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("%s is unreachable: %s", base.Redacted(), Describe(err))
	}
	return c.Close()
}
