package mirror

import (
	"bytes"
	"errors"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/upstream"
)

// clientRelay hands the primary's answer to the client as it is read: the
// status and header as sent (hop-by-hop fields aside), Content-Length
// included, and the body's bytes as they came, still content-encoded.
type clientRelay struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

var _ upstream.Relay = (*clientRelay)(nil)

func newClientRelay(w http.ResponseWriter) *clientRelay {
	return &clientRelay{w: w, rc: http.NewResponseController(w)}
}

func (c *clientRelay) Head(status int, _ string, header http.Header) error {
	c.started = true
	dst := c.w.Header()
	for k, vs := range header {
		dst[k] = vs
	}
	removeHopByHop(dst)
	c.w.WriteHeader(status)
	return nil
}

func (c *clientRelay) Body(p []byte, more bool) error {
	if _, err := c.w.Write(p); err != nil {
		return err
	}
	if !more {
		// What the target sent so far reaches the client now: streamed
		// answers (events, long polls) are not held back.
		if err := c.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	}
	return nil
}

// trailer sets the primary's trailer fields on the client's answer.
func (c *clientRelay) trailer(t http.Header) {
	for k, vs := range t {
		c.w.Header()[http.TrailerPrefix+k] = vs
	}
}

// removeHopByHop drops the fields that belong to one connection (RFC 9110
// §7.6.1), those Connection names included.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(h, k)
	}
}

// readRequestBody reads the body of a request that will be compared, so
// that both sides are sent it at once. Up to max bytes are read, taken
// from acct first; when the body is longer, or the budget is spent, it is
// not compared (reason says why) and rest streams the whole body to the
// primary. fault is set when the client sent a malformed body or went
// away: the request then reaches neither side.
func readRequestBody(r *http.Request, max int64, acct *account) (body []byte, rest io.Reader, reason, fault string) {
	if r.ContentLength > 0 {
		if body = acct.requestBuffer(int(r.ContentLength)); body == nil {
			return nil, r.Body, ReasonBodyBudget, ""
		}
		body = body[:r.ContentLength]
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, nil, "", bodyFault(err)
		}
		return body, nil, "", ""
	}
	// Chunked: the length is known at the end; the buffer doubles up to
	// one byte past max, which tells a body over the cap.
	for size := int(min(32<<10, max+1)); ; size = int(min(2*int64(size), max+1)) {
		grown := acct.requestBuffer(size)
		if grown == nil {
			return nil, io.MultiReader(bytes.NewReader(body), r.Body), ReasonBodyBudget, ""
		}
		body = append(grown, body...)
		n, err := fill(r.Body, body[len(body):cap(body)])
		body = body[:len(body)+n]
		switch {
		case int64(len(body)) > max:
			return nil, io.MultiReader(bytes.NewReader(body), r.Body), ReasonBodyOverCap, ""
		case err == io.EOF:
			return body, nil, "", ""
		case err != nil:
			return nil, nil, "", bodyFault(err)
		}
	}
}

// fill reads into p until it is full or r fails; unlike io.ReadFull, an
// end of body is io.EOF and a body cut off stays io.ErrUnexpectedEOF.
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// bodyFault tells a client that went away from one that sent a malformed
// body.
func bodyFault(err error) string {
	var ne net.Error
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne) {
		return ReasonClientAborted
	}
	return ReasonClientError
}

// newUpgradeProxy serves requests that turn their connection into a
// tunnel (WebSocket and the like), which are passed through, never
// compared.
func newUpgradeProxy(target *url.URL, log zerolog.Logger) *httputil.ReverseProxy {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.DisableCompression = true // the client gets what the target sent
	return &httputil.ReverseProxy{
		Transport: transport,
		ErrorLog:  stdlog.New(log.With().Str("component", "proxy").Logger(), "", 0),
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
	}
}
