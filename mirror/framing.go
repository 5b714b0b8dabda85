package mirror

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Request framing as strict as NGINX's (RFC 9112 §6.1, §6.3).
//
// net/http normalises some ambiguous framings before a handler sees them
// (it drops Content-Length when Transfer-Encoding is present, folds
// obs-folded lines, accepts identical duplicate Content-Length headers), so
// a handler cannot tell that NGINX would have refused the request: behind
// a balancer that frames by Content-Length that difference is a request
// smuggled past the edge. The check therefore runs on the raw bytes: a
// framingConn holds each request head back from net/http until the whole
// head has arrived and been checked, and follows each message's body so
// that it knows where the next head starts. A refused head is replaced by a
// synthetic one that net/http routes, in order, to refuseHandler, which
// answers NGINX's status with Connection: close; nothing after it on the
// connection is ever handed on, and nothing is sent to either side.
//
// Over TLS, tlsListener puts a framingConn over each HTTP/1.x connection
// after its handshake; HTTP/2 connections frame their own messages.

// SkipFraming is the skip reason of requests refused for their framing.
const SkipFraming = "framing_refused"

// maxHeadBytes bounds a head held back for checking: past it the bytes go
// to net/http unchecked, which refuses heads over its MaxHeaderBytes.
const maxHeadBytes = http.DefaultMaxHeaderBytes + 4096

// refusedHead is what net/http reads in place of a refused head. Its
// content does not matter: refuseHandler answers whatever it says.
const refusedHead = "GET /cutover-framing-refused HTTP/1.1\r\nHost: refused\r\n\r\n"

// Refusal is why a request head is refused: the status NGINX answers with
// and a reason for the log.
type Refusal struct {
	Status int
	Reason string
}

// CheckHead checks the framing of one HTTP/1.x request head (request line
// and header lines, without the final empty line). It returns nil when the
// head may be served, and what it would have of its body: chunked, or
// length bytes. It refuses what NGINX refuses: two Content-Length headers
// even when equal, a Content-Length that is not digits, Transfer-Encoding
// with Content-Length or on HTTP/1.0, more than one Transfer-Encoding,
// Transfer-Encoding other than chunked (501), obs-folded lines, and a name
// with white space before its colon.
func CheckHead(head []byte) (ref *Refusal, chunked bool, length int64) {
	bad := func(status int, reason string) (*Refusal, bool, int64) {
		return &Refusal{Status: status, Reason: reason}, false, 0
	}
	lines := strings.Split(string(head), "\n")
	reqLine := strings.TrimSuffix(lines[0], "\r")
	http10 := strings.HasSuffix(reqLine, " HTTP/1.0")
	var cl, te []string
	hosts := 0
	for _, l := range lines[1:] {
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			return bad(http.StatusBadRequest, "obs-folded header line")
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue // net/http refuses it
		}
		if strings.TrimRight(name, " \t") != name {
			return bad(http.StatusBadRequest, "white space before a header's colon")
		}
		// NGINX skips only spaces before a value, and trims both after it.
		value = strings.TrimRight(strings.TrimLeft(value, " "), " \t")
		switch strings.ToLower(name) {
		case "content-length":
			cl = append(cl, value)
		case "transfer-encoding":
			te = append(te, value)
		case "host":
			hosts++
		}
	}
	// In NGINX's order: unique headers when read, then the length, then
	// the transfer coding.
	switch {
	case len(cl) > 1:
		return bad(http.StatusBadRequest, "duplicate Content-Length")
	case len(te) > 1:
		return bad(http.StatusBadRequest, "duplicate Transfer-Encoding")
	case hosts > 1:
		return bad(http.StatusBadRequest, "duplicate Host")
	}
	if len(cl) == 1 {
		v := cl[0]
		if v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
			return bad(http.StatusBadRequest, "invalid Content-Length")
		}
		for _, c := range v {
			length = length*10 + int64(c-'0')
		}
	}
	switch {
	case len(te) == 0:
		return nil, false, length
	case http10:
		return bad(http.StatusBadRequest, "Transfer-Encoding on HTTP/1.0")
	case !strings.EqualFold(te[0], "chunked"):
		return bad(http.StatusNotImplemented, "Transfer-Encoding other than chunked")
	case len(cl) == 1:
		return bad(http.StatusBadRequest, "Transfer-Encoding and Content-Length")
	}
	return nil, true, 0
}

// framingListener checks the framing of every connection it accepts.
type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

type framingState int

const (
	stHead    framingState = iota // before or in a request head
	stLength                      // in a body of known length
	stChunked                     // in a chunked body
	stPass                        // no longer checked (a tunnel, HTTP/2, a head too large)
	stRefused                     // a head was refused: nothing more is handed on
)

// framingConn is a connection whose request heads are checked before
// net/http reads them. net/http reads a connection from one goroutine at a
// time, so Read needs no lock; the refusal is read by the handler.
type framingConn struct {
	net.Conn

	raw     []byte // read, not yet classified
	ready   []byte // checked, for net/http
	state   framingState
	left    int64 // body bytes left (stLength) or chunk bytes left (stChunked)
	chunk   chunkScan
	scratch [16 << 10]byte

	mu      sync.Mutex
	refusal *Refusal
	method  string
	uri     string
}

// refused is the refusal of this connection and the request it refused.
func (c *framingConn) refused() (r *Refusal, method, uri string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refusal, c.method, c.uri
}

func (c *framingConn) Read(p []byte) (int, error) {
	for len(c.ready) == 0 {
		if c.state == stRefused {
			// Nothing more is handed on; a read still ends when the
			// client closes or net/http closes the connection.
			if _, err := c.Conn.Read(c.scratch[:]); err != nil {
				return 0, err
			}
			continue
		}
		if len(c.raw) > 0 && c.classify() {
			continue
		}
		n, err := c.Conn.Read(c.scratch[:])
		c.raw = append(c.raw, c.scratch[:n]...)
		if err != nil && n == 0 {
			if len(c.raw) > 0 && c.state != stRefused {
				// The client stopped mid-head: net/http sees what came.
				c.ready, c.raw = c.raw, nil
				break
			}
			return 0, err
		}
	}
	n := copy(p, c.ready)
	c.ready = c.ready[n:]
	if len(c.ready) == 0 {
		c.ready = nil
	}
	return n, nil
}

// classify moves what it can of raw to ready; false when it needs more.
func (c *framingConn) classify() bool {
	switch c.state {
	case stPass:
		c.ready, c.raw = append(c.ready, c.raw...), nil
		return true
	case stLength:
		n := min(int64(len(c.raw)), c.left)
		c.pass(int(n))
		if c.left -= n; c.left == 0 {
			c.state = stHead
		}
		return n > 0
	case stChunked:
		n, done, ok := c.chunk.scan(c.raw)
		if !ok {
			// A malformed chunked body: net/http's reader refuses it and
			// the connection ends there.
			c.state = stPass
			return true
		}
		c.pass(n)
		if done {
			c.state = stHead
		}
		return n > 0
	}
	// stHead: empty lines before a request are ignored (RFC 9112 §2.2).
	skip := 0
	for skip < len(c.raw) && (c.raw[skip] == '\r' || c.raw[skip] == '\n') {
		skip++
	}
	if skip == len(c.raw) {
		c.raw = c.raw[:0]
		return false
	}
	end, headLen := headEnd(c.raw[skip:])
	if end < 0 {
		if len(c.raw) > maxHeadBytes {
			c.state = stPass
			return true
		}
		return false
	}
	head := c.raw[skip : skip+end]
	reqLine, _, _ := bytes.Cut(head, []byte("\n"))
	fields := strings.Fields(string(reqLine))
	if len(fields) != 3 || (fields[2] != "HTTP/1.1" && fields[2] != "HTTP/1.0") {
		c.state = stPass // HTTP/2's preface, or net/http's to refuse
		c.raw = c.raw[skip:]
		return true
	}
	ref, chunked, length := CheckHead(head)
	if ref != nil {
		c.mu.Lock()
		c.refusal, c.method, c.uri = ref, fields[0], fields[1]
		c.mu.Unlock()
		c.state = stRefused
		c.raw = nil
		c.ready = []byte(refusedHead)
		return true
	}
	c.raw = c.raw[skip:]
	c.pass(headLen)
	switch {
	case upgrade(head):
		c.state = stPass // a tunnel follows, or the rest of its body
	case chunked:
		c.state, c.chunk = stChunked, chunkScan{}
	case length > 0:
		c.state, c.left = stLength, length
	}
	return true
}

// pass moves n bytes of raw to ready.
func (c *framingConn) pass(n int) {
	c.ready = append(c.ready, c.raw[:n]...)
	c.raw = c.raw[n:]
}

// headEnd finds the empty line ending a head: the head's length without
// it, and with it; -1 when it has not come yet. Lines may end in LF alone.
func headEnd(b []byte) (end, total int) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i, i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i, i + 3
		}
	}
	return -1, 0
}

func upgrade(head []byte) bool {
	h := bytes.ToLower(head)
	return bytes.Contains(h, []byte("\nupgrade:")) || bytes.HasPrefix(h, []byte("connect "))
}

type framingConnKey struct{}

// withFramingConn is an http.Server's ConnContext: it lets the handler
// find the connection's refusal.
func withFramingConn(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*framingConn); ok {
		return context.WithValue(ctx, framingConnKey{}, fc)
	}
	return ctx
}

// refuseHandler answers requests whose connection refused a head, as NGINX
// does (its status, then the connection closed), counts them as skipped,
// and hands every other request to next.
func refuseHandler(m *Mirror, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc, _ := r.Context().Value(framingConnKey{}).(*framingConn)
		if fc == nil {
			next.ServeHTTP(w, r)
			return
		}
		ref, method, uri := fc.refused()
		if ref == nil {
			if tc, ok := fc.Conn.(*tls.Conn); ok && r.TLS == nil {
				// net/http sets TLS only on its own *tls.Conn; the
				// sides must still see X-Forwarded-Proto: https.
				st := tc.ConnectionState()
				r2 := *r
				r2.TLS = &st
				r = &r2
			}
			next.ServeHTTP(w, r)
			return
		}
		m.skip(m.rec.Endpoint(method, uri), SkipFraming)
		m.log.Info().Str("from", r.RemoteAddr).Str("method", method).Str("reason", ref.Reason).Int("status", ref.Status).Msg("request refused for its framing")
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(ref.Status)
		w.Write([]byte(http.StatusText(ref.Status) + "\n"))
	})
}
