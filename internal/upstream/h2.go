package upstream

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/cutover/cutover/diff"
)

// Protocols a Client speaks to its targets (Config.Proto).
const (
	// ProtoH1 is HTTP/1.1, on http and https targets alike (the default).
	ProtoH1 = "h1"
	// ProtoH2 is HTTP/2: h2c with prior knowledge on http targets, h2
	// by ALPN on https targets (a target that does not agree to h2 fails).
	ProtoH2 = "h2"
	// ProtoAuto is what each target speaks: by ALPN on https targets (h2
	// when offered, else HTTP/1.1); on http targets h2c when the target
	// answers an HTTP/2 preface with its SETTINGS (asked once per target),
	// else HTTP/1.1. A legacy on HTTP/1.1 and a candidate on h2c only can
	// so be compared by one client.
	ProtoAuto = "auto"
)

// ParseProto checks a --upstream-proto value; "" is ProtoH1.
func ParseProto(s string) (string, error) {
	switch s {
	case "", ProtoH1:
		return ProtoH1, nil
	case ProtoH2, ProtoAuto:
		return s, nil
	}
	return "", fmt.Errorf("unknown protocol %q: want h1, h2 or auto", s)
}

// h2Sender sends over HTTP/2 with x/net's Transport (h2 and h2c) and, for
// ProtoAuto, net/http's with ALPN. Answers are captured as the plain
// sender captures them: body kept up to the cap, trailers kept, timed from
// the connection being had to the first and last byte.
type h2Sender struct {
	cfg  Config
	h2c  *http.Client // http targets
	tls  *http.Client // https targets
	auto bool

	mu    sync.Mutex
	speak map[string]bool // ProtoAuto: whether an http target speaks h2c, once asked
}

func newH2Sender(cfg Config) *h2Sender {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tlsConf := cfg.TLS.Clone()
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	s := &h2Sender{cfg: cfg, auto: cfg.Proto == ProtoAuto, speak: map[string]bool{}}
	if s.auto {
		tlsConf.NextProtos = []string{"h2", "http/1.1"}
		s.tls = &http.Client{CheckRedirect: noRedirect, Transport: &http.Transport{
			Proxy: nil, DialContext: dialer.DialContext, TLSClientConfig: tlsConf, ForceAttemptHTTP2: true,
			MaxIdleConnsPerHost: cfg.MaxConnsPerTarget, MaxConnsPerHost: cfg.MaxConnsPerTarget,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		}}
	} else {
		s.tls = &http.Client{CheckRedirect: noRedirect, Transport: &http2.Transport{
			TLSClientConfig: tlsConf, DisableCompression: true, IdleConnTimeout: 90 * time.Second,
		}}
	}
	s.h2c = &http.Client{CheckRedirect: noRedirect, Transport: &http2.Transport{
		AllowHTTP: true, DisableCompression: true, IdleConnTimeout: 90 * time.Second,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr) // h2c: the "TLS" dial is a plain one
		},
	}}
	return s
}

// handles reports whether the sender takes requests to base.
func (s *h2Sender) handles(ctx context.Context, base *url.URL) bool {
	if base.Scheme == "https" || !s.auto {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	speaks, known := s.speak[base.Host]
	if !known {
		var err error
		if speaks, err = speaksH2C(ctx, base.Host); err == nil {
			s.speak[base.Host] = speaks // an unreachable target is asked again
		}
	}
	return speaks
}

// speaksH2C asks addr whether it speaks h2c with prior knowledge: it does
// when it answers the preface and an empty SETTINGS with a SETTINGS frame.
// An HTTP/1.1 server answers 400 or closes.
func speaksH2C(ctx context.Context, addr string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, http2.ClientPreface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		return false, nil
	}
	var head [9]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return false, nil
	}
	return head[3] == byte(http2.FrameSettings) && head[4]&byte(http2.FlagSettingsAck) == 0, nil
}

// client is the HTTP/2 client for base's scheme.
func (s *h2Sender) client(base *url.URL) *http.Client {
	if base.Scheme == "http" {
		return s.h2c
	}
	return s.tls
}

func (s *h2Sender) close() {
	s.tls.CloseIdleConnections()
	s.h2c.CloseIdleConnections()
}

// do sends req to base and captures the answer; a transport failure is a
// Response with Err set.
func (s *h2Sender) do(ctx context.Context, base *url.URL, req *diff.Request) *diff.Response {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var w stopwatch
	hreq, err := s.newRequest(w.trace(ctx), base, req)
	if err != nil {
		return &diff.Response{Err: err.Error()}
	}
	w.call()
	resp, err := s.client(base).Do(hreq)
	w.returned()
	if err != nil {
		return &diff.Response{Err: Describe(err), Total: w.since()}
	}
	defer resp.Body.Close()
	r := &diff.Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header}
	if w.firstByte.IsZero() {
		w.firstByte = time.Now() // x/net's Transport reports no first byte: the header is
	}
	r.TTFB = w.firstByte.Sub(w.start)
	body, truncated, err := keepBody(resp.Body, s.cfg.MaxBody)
	r.Total = w.since()
	if err != nil {
		r.Err = "reading answer body: " + Describe(err)
		return r
	}
	r.Body, r.BodyTruncated = body, truncated
	if len(resp.Trailer) > 0 {
		r.Trailer = resp.Trailer
	}
	return r
}

// keepBody reads a body to its end, keeping the first limit bytes.
func keepBody(r io.Reader, limit int64) ([]byte, bool, error) {
	body, eof, err := appendToEOF(r, nil, limit)
	if err != nil || eof {
		return body, false, err
	}
	n, err := drain(r)
	return body, n > 0, err
}

// newRequest makes req an *http.Request to base: the captured Host kept,
// the fields HTTP/2 forbids (connection-specific ones) left out.
func (s *h2Sender) newRequest(ctx context.Context, base *url.URL, req *diff.Request) (*http.Request, error) {
	if !strings.HasPrefix(req.URI, "/") && req.URI != "*" {
		if u, err := url.Parse(req.URI); err == nil && u.IsAbs() {
			req = &diff.Request{Method: req.Method, URI: u.RequestURI(), Host: req.Host, Header: req.Header, Body: req.Body}
		}
	}
	target := strings.TrimSuffix(base.String(), "/") + req.URI
	var body io.Reader
	if len(req.Body) > 0 {
		body = strings.NewReader(string(req.Body))
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, target, body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	for k, vs := range req.Header {
		if k == "Te" && len(vs) == 1 && strings.EqualFold(vs[0], "trailers") {
			hreq.Header[k] = vs // the one TE HTTP/2 allows, which gRPC asks for
			continue
		}
		if hopByHop(k) || k == "Host" || k == "Content-Length" {
			continue
		}
		hreq.Header[k] = vs
	}
	for k, vs := range s.cfg.Header {
		hreq.Header[k] = vs
	}
	if req.Host != "" {
		hreq.Host = req.Host
	}
	if len(req.Body) == 0 {
		hreq.Body, hreq.ContentLength = http.NoBody, 0
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			hreq.Body = nil
		}
	}
	return hreq, nil
}
