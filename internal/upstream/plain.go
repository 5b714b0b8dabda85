package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cutover/cutover/diff"
)

// plainPool sends HTTP/1.1 over plain TCP on the calling goroutine, with a
// pool of idle keep-alive connections per target. net/http's Transport
// hands every request to two goroutines per connection through channels;
// for a harness that sends little requests by the ten thousand a second,
// that hand-off costs more than the request (see BENCHMARKS.md).
type plainPool struct {
	cfg  Config
	dial net.Dialer

	mu   sync.Mutex
	idle map[string][]*plainConn
}

type plainConn struct {
	net.Conn
	br       *bufio.Reader
	idleFrom time.Time
	wire     []byte // the request being sent, reused
	head     []byte // the answer's header lines, reused
}

// staleAfter is how long a connection may sit idle before it is checked
// for a close by the target (an idle timeout) before reuse: a request
// written on a connection the target already closed would fail for
// nothing, and could not be repeated when it is a POST.
const staleAfter = time.Second

func newPlainPool(cfg Config) *plainPool {
	return &plainPool{cfg: cfg, dial: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}, idle: map[string][]*plainConn{}}
}

// get returns an idle connection to addr, or a new one dialled by
// deadline; reused says which.
func (p *plainPool) get(ctx context.Context, addr string, deadline time.Time) (*plainConn, bool, error) {
	for {
		p.mu.Lock()
		conns := p.idle[addr]
		if len(conns) == 0 {
			p.mu.Unlock()
			break
		}
		c := conns[len(conns)-1]
		p.idle[addr] = conns[:len(conns)-1]
		p.mu.Unlock()
		if time.Since(c.idleFrom) < staleAfter || alive(c) {
			return c, true, nil
		}
		c.Close()
	}
	dial := p.dial
	dial.Deadline = deadline
	nc, err := dial.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &plainConn{Conn: nc, br: bufio.NewReaderSize(nc, 16<<10)}, false, nil
}

// alive peeks at an idle connection without waiting (recv with MSG_PEEK
// and MSG_DONTWAIT): nothing to read means open; EOF, an error or a stray
// byte means the target closed it or misbehaved.
func alive(c *plainConn) bool {
	if c.br.Buffered() > 0 {
		return false
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var rerr error
	buf := make([]byte, 1)
	if err := raw.Read(func(fd uintptr) bool {
		_, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait
	}); err != nil {
		return false
	}
	// EAGAIN: nothing to read, open. Anything else (0 bytes: closed; a byte:
	// an answer nobody asked for; an error) makes it unusable.
	return errors.Is(rerr, syscall.EAGAIN)
}

func (p *plainPool) put(addr string, c *plainConn) {
	c.idleFrom = time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[addr]) >= p.cfg.MaxConnsPerTarget {
		c.Close()
		return
	}
	p.idle[addr] = append(p.idle[addr], c)
}

func (p *plainPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, conns := range p.idle {
		for _, c := range conns {
			c.Close()
		}
		delete(p.idle, addr)
	}
}

// do sends req to base (an http URL), within the configured timeout. A
// request that fails on a reused connection before any answer came, the
// way a connection the target closed while idle fails, is sent again once
// on a new connection when it is safe to repeat.
//
// The timeout is a deadline on the connection rather than a context, and
// ctx is watched only when it can be cancelled: both cost timers and
// allocations on every request.
func (p *plainPool) do(ctx context.Context, base *url.URL, req *diff.Request) *diff.Response {
	deadline := time.Now().Add(p.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	addr := base.Host
	if base.Port() == "" {
		addr = net.JoinHostPort(base.Hostname(), "80")
	}
	prefix := strings.TrimSuffix(base.EscapedPath(), "/")
	if err := checkRequest(prefix, req); err != nil {
		return &diff.Response{Err: err.Error()}
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx, addr, deadline)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return &diff.Response{Err: Describe(err), Total: time.Since(start)}
		}
		c.wire = p.appendRequest(c.wire[:0], prefix, base.Host, req)
		out, answered, keep := p.exchange(ctx, c, req.Method, deadline, start)
		if keep {
			p.put(addr, c)
		} else {
			c.Close()
		}
		if out.Err != "" && reused && !answered && attempt == 0 && idempotent(req.Method) && ctx.Err() == nil && time.Now().Before(deadline) {
			continue
		}
		return out
	}
}

// exchange writes the request in c.wire on c and reads its answer.
// answered says whether any byte of an answer came; keep whether c can
// serve again.
func (p *plainPool) exchange(ctx context.Context, c *plainConn, method string, deadline, start time.Time) (out *diff.Response, answered, keep bool) {
	c.SetDeadline(deadline)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
		defer func() {
			// Once the cancel has run, it may still move the deadline of a
			// later request: such a connection is not reused.
			if !stop() {
				keep = false
			}
		}()
	}
	fail := func(err error) *diff.Response {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &diff.Response{Err: Describe(err), Total: time.Since(start)}
	}
	_, err := c.Write(c.wire)
	if cap(c.wire) > keptBuffer {
		c.wire = nil // a large body is not kept for the life of the connection
	}
	if err != nil {
		return fail(err), false, false
	}
	if _, err := c.br.Peek(1); err != nil {
		return fail(err), false, false
	}
	ttfb := time.Since(start)
	var h head
	for {
		if h, c.head, err = readHead(c.br, c.head, method); err != nil {
			return fail(err), true, false
		}
		// Interim answers (100 Continue, 103 Early Hints) precede the real one.
		if h.status >= 200 || h.status == http.StatusSwitchingProtocols {
			break
		}
	}
	if cap(c.head) > keptBuffer {
		c.head = nil
	}
	body, truncated, err := readBody(c.br, &h, p.cfg.MaxBody)
	out = &diff.Response{Status: h.status, Proto: h.proto, Header: h.header, Trailer: h.trailer,
		Body: body, BodyTruncated: truncated, TTFB: ttfb, Total: time.Since(start)}
	if err != nil {
		out.Err = "reading body: " + Describe(err)
		return out, true, false
	}
	return out, true, !h.close && h.status != http.StatusSwitchingProtocols
}

// keptBuffer is the largest request or header buffer a connection keeps
// for its next request.
const keptBuffer = 64 << 10

// checkRequest says why req cannot be written as an HTTP/1.1 request to a
// target under the path prefix, if it cannot.
func checkRequest(prefix string, req *diff.Request) error {
	target := req.URI
	if prefix != "" {
		target = prefix // only its first byte and its bytes matter below
	}
	if !strings.HasPrefix(target, "/") && target != "*" {
		return fmt.Errorf("request uri %q: not a path", req.URI)
	}
	if !validToken(req.Method) || strings.ContainsAny(prefix, " \r\n") || strings.ContainsAny(req.URI, " \r\n") {
		return fmt.Errorf("request %q %q: not a valid request line", req.Method, req.URI)
	}
	return nil
}

// appendRequest appends the request as it goes on the wire to b: req must
// have passed checkRequest. host is the target's, used when req has none.
func (p *plainPool) appendRequest(b []byte, prefix, host string, req *diff.Request) []byte {
	if req.Host != "" {
		host = req.Host
	}
	b = slices.Grow(b, 256+len(req.Body))
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, prefix...)
	b = append(b, req.URI...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	for k, vs := range req.Header {
		if hopByHop(k) || strings.ContainsAny(k, " :\r\n") {
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendOneLine(b, v)
			b = append(b, "\r\n"...)
		}
	}
	for k, vs := range p.cfg.Header {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if len(req.Body) > 0 || (req.Method != "GET" && req.Method != "HEAD" && req.Method != "OPTIONS" && req.Method != "DELETE" && req.Method != "TRACE") {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.Body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, req.Body...)
}

// appendOneLine appends v with every CR and LF made a space, so that a
// value cannot end its header line.
func appendOneLine(b []byte, v string) []byte {
	for {
		i := strings.IndexAny(v, "\r\n")
		if i < 0 {
			return append(b, v...)
		}
		b = append(b, v[:i]...)
		b = append(b, ' ')
		v = v[i+1:]
	}
}

func idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}
