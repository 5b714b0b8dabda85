package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	answered atomic.Bool     // the answer to the request begun has started to come
	stamps   *stampConn      // nil without kernel receive timestamps
	raw      syscall.RawConn // nil when the connection has no file descriptor
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
	if c := p.idleConn(addr); c != nil {
		return c, true, nil
	}
	dial := p.dial
	dial.Deadline = deadline
	nc, err := dial.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	c := &plainConn{Conn: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	if c.stamps = withStamps(nc); c.stamps != nil {
		c.br = bufio.NewReaderSize(c.stamps, 16<<10)
	} else {
		c.br = bufio.NewReaderSize(nc, 16<<10)
	}
	return c, false, nil
}

// idleConn takes an idle connection to addr that is still open, or nil.
func (p *plainPool) idleConn(addr string) *plainConn {
	for {
		p.mu.Lock()
		conns := p.idle[addr]
		if len(conns) == 0 {
			p.mu.Unlock()
			return nil
		}
		c := conns[len(conns)-1]
		p.idle[addr] = conns[:len(conns)-1]
		p.mu.Unlock()
		if time.Since(c.idleFrom) < staleAfter || alive(c) {
			return c
		}
		c.Close()
	}
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

// waiting reports whether bytes from the target wait unread on c, without
// reading them (recv with MSG_PEEK and MSG_DONTWAIT). It is safe while
// another goroutine reads c.
func waiting(c *plainConn) bool {
	raw := c.raw
	if raw == nil {
		return false
	}
	var n int
	var buf [1]byte
	_ = raw.Read(func(fd uintptr) bool {
		n, _, _ = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	})
	return n > 0
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

// send sends out.Req to base (an http URL), within the configured
// timeout. A request that fails on a reused connection before any answer
// came, the way a connection the target closed while idle fails, is sent
// again once on a new connection when it is safe to repeat (a buffered
// body, an idempotent method, nothing relayed yet).
//
// The timeout is a deadline on the connection rather than a context, and
// ctx is watched only when it can be cancelled: both cost timers and
// allocations on every request.
func (p *plainPool) send(ctx context.Context, base *url.URL, out *Outgoing) *diff.Response {
	t, err := newPlainTarget(base, out.Req)
	if err != nil {
		return &diff.Response{Err: err.Error()}
	}
	return p.run(ctx, t, out, nil, time.Now().Add(p.cfg.Timeout))
}

// plainTarget is where a request goes: the address to dial and the path
// prefix of the base URL.
type plainTarget struct{ addr, host, prefix string }

func newPlainTarget(base *url.URL, req *diff.Request) (plainTarget, error) {
	t := plainTarget{addr: base.Host, host: base.Host, prefix: strings.TrimSuffix(base.EscapedPath(), "/")}
	if base.Port() == "" {
		t.addr = net.JoinHostPort(base.Hostname(), "80")
	}
	return t, checkRequest(t.prefix, req)
}

// begun is a request written, in whole or in part, by begin.
type begun struct {
	conn    *plainConn
	written int
	start   time.Time
}

// run sends out to t by deadline, resuming b when the request was begun.
func (p *plainPool) run(ctx context.Context, t plainTarget, out *Outgoing, b *begun, deadline time.Time) *diff.Response {
	req := out.Req
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for attempt := 0; ; attempt++ {
		var c *plainConn
		var reused bool
		var written int
		var start time.Time
		if b != nil && attempt == 0 {
			c, reused, written, start = b.conn, true, b.written, b.start
		} else {
			var err error
			if c, reused, err = p.get(ctx, t.addr, deadline); err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				return &diff.Response{Err: Describe(err)}
			}
			c.wire = p.appendRequest(c.wire[:0], t.prefix, t.host, req, out)
		}
		resp, answered, keep := p.exchange(ctx, c, out, deadline, written, start)
		if keep {
			p.put(t.addr, c)
		} else {
			c.Close()
		}
		if resp.Err != "" && reused && !answered && attempt == 0 && out.Body == nil && idempotent(req.Method) && ctx.Err() == nil && time.Now().Before(deadline) {
			continue
		}
		return resp
	}
}

// prepare takes an idle connection to base for out and lays its request
// out, without writing: no dial (a request with no idle connection, or
// one that streams its body, is sent whole by Finish).
func (p *plainPool) prepare(base *url.URL, out *Outgoing) *plainPending {
	pp := &plainPending{pool: p, out: out, deadline: time.Now().Add(p.cfg.Timeout)}
	if pp.target, pp.err = newPlainTarget(base, out.Req); pp.err != nil || out.Body != nil {
		return pp
	}
	if pp.conn = p.idleConn(pp.target.addr); pp.conn != nil {
		pp.conn.wire = p.appendRequest(pp.conn.wire[:0], pp.target.prefix, pp.target.host, out.Req, out)
		pp.conn.SetDeadline(pp.deadline)
	}
	return pp
}

// plainPending is a request readied by prepare.
type plainPending struct {
	pool     *plainPool
	target   plainTarget
	out      *Outgoing
	conn     *plainConn // the idle connection taken; nil: Finish sends whole
	begun    *begun     // nil: nothing written yet
	deadline time.Time
	err      error
}

var _ Pending = (*plainPending)(nil)

// Start writes what the socket takes at once. The clock starts here.
func (pp *plainPending) Start() {
	c := pp.conn
	if c == nil || pp.begun != nil {
		return
	}
	if c.stamps != nil {
		c.stamps.last = time.Time{}
	}
	c.answered.Store(false)
	start := time.Now()
	n, err := c.writeNow(c.wire)
	if err != nil {
		c.Close() // closed by the target while idle: Finish dials anew
		pp.conn = nil
		return
	}
	pp.begun = &begun{conn: c, written: n, start: start}
}

func (pp *plainPending) Finish(ctx context.Context) *diff.Response {
	if pp.err != nil {
		return &diff.Response{Err: pp.err.Error()}
	}
	pp.Start() // a no-op once started
	return pp.pool.run(ctx, pp.target, pp.out, pp.begun, pp.deadline)
}

func (pp *plainPending) Answered() bool {
	if pp.begun == nil {
		return false
	}
	c := pp.begun.conn
	return c.answered.Load() || waiting(c)
}

// writeNow writes what it can of b without waiting for the socket.
func (c *plainConn) writeNow(b []byte) (int, error) {
	raw := c.raw
	if raw == nil {
		return 0, nil
	}
	var n int
	var werr error
	if err := raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // never wait
	}); err != nil {
		return 0, err
	}
	switch {
	case errors.Is(werr, syscall.EAGAIN):
		return 0, nil
	case werr != nil:
		return 0, werr
	}
	return n, nil
}

// exchange writes the request in c.wire (and out.Body) on c and reads its
// answer. answered says whether any byte of an answer came; keep whether c
// can serve again. The clock starts at the first byte written.
func (p *plainPool) exchange(ctx context.Context, c *plainConn, out *Outgoing, deadline time.Time, written int, start time.Time) (resp *diff.Response, answered, keep bool) {
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
	if start.IsZero() {
		if c.stamps != nil {
			c.stamps.last = time.Time{}
		}
		start = time.Now()
	}
	sent := start // start moves on by the relay's time; sent does not
	fail := func(err error) *diff.Response {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &diff.Response{Err: Describe(err), Total: time.Since(start)}
	}
	_, err := c.Write(c.wire[written:])
	if cap(c.wire) > keptBuffer {
		c.wire = nil // a large body is not kept for the life of the connection
	}
	if err == nil && out.Body != nil {
		err = writeBody(c.Conn, out)
	}
	if out.BodyErr != nil {
		return &diff.Response{Err: "reading request body: " + Describe(out.BodyErr), Total: time.Since(start)}, false, false
	}
	if err != nil {
		return fail(err), false, false
	}
	if _, err := c.br.Peek(1); err != nil {
		return fail(err), false, false
	}
	c.answered.Store(true)
	ttfb := time.Since(start)
	if d, ok := c.stamps.since(sent, ttfb); ok {
		ttfb = d
	}
	var h head
	for {
		if h, c.head, err = readHead(c.br, c.head, out.Req.Method); err != nil {
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
	resp = &diff.Response{Status: h.status, Proto: h.proto, Header: h.header, TTFB: ttfb}
	if out.Relay != nil {
		t := time.Now()
		if err := out.Relay.Head(h.status, h.proto, h.header); err != nil {
			out.RelayErr = err
			resp.Err, resp.Total = "relaying answer: "+Describe(err), time.Since(start)
			return resp, true, false
		}
		start = start.Add(time.Since(t)) // the relay's time is not the target's
	}
	var body []byte
	var truncated bool
	limit := out.Keep
	if limit == 0 {
		limit = p.cfg.MaxBody
	}
	if out.Relay == nil && out.Budget == nil && limit > 0 {
		body, truncated, err = readBody(c.br, &h, limit)
		resp.Total = time.Since(start)
	} else {
		var clock relayClock
		body, truncated, err = streamBody(c.br, &h, limit, out, &clock)
		resp.Total = time.Since(start)
		if !clock.lastRead.IsZero() {
			resp.Total = clock.lastRead.Sub(start) - clock.waitAtLast
		}
	}
	if d, ok := c.stamps.since(sent, time.Since(sent)); ok && d >= ttfb {
		// The kernel saw the last byte arrive then: neither the
		// scheduler's delay nor the relay's writes are the target's.
		resp.Total = d
	}
	resp.Trailer, resp.Body, resp.BodyTruncated = h.trailer, body, truncated
	if err != nil {
		if out.RelayErr != nil {
			resp.Err = "relaying answer: " + Describe(err)
		} else {
			resp.Err = "reading body: " + Describe(err)
		}
		return resp, true, false
	}
	return resp, true, !h.close && h.status != http.StatusSwitchingProtocols
}

// streamBody reads the body that h frames from br piece by piece, keeping
// up to limit bytes (none when limit is negative) and relaying it.
func streamBody(br *bufio.Reader, h *head, limit int64, out *Outgoing, clock *relayClock) (body []byte, truncated bool, err error) {
	var k *keeper
	if limit > 0 {
		k = &keeper{limit: limit, budget: out.Budget}
	}
	more := func() bool { return br.Buffered() > 0 }
	switch h.body {
	case bodyNone:
		return nil, false, nil
	case bodyLength:
		if k != nil {
			k.reserve(h.length)
		}
		lr := &io.LimitedReader{R: br, N: h.length}
		err = consume(lr, more, k, out, clock)
		if err == nil && lr.N > 0 {
			err = io.ErrUnexpectedEOF
		}
	case bodyChunked:
		err = consume(httputil.NewChunkedReader(br), more, k, out, clock)
		if err == nil {
			err = readTrailer(br, h)
		}
	case bodyToClose:
		err = consume(br, more, k, out, clock)
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if k == nil {
		return nil, false, err
	}
	out.OverBudget = k.refused
	return k.body(), k.truncated, err
}

// writeBody streams out.Body after the request head: ContentLength bytes,
// or chunked.
func writeBody(w io.Writer, out *Outgoing) error {
	br := &bodyReader{r: out.Body}
	defer func() { out.BodyErr = br.err }()
	if out.ContentLength >= 0 {
		n, err := io.Copy(w, io.LimitReader(br, out.ContentLength))
		if err == nil && n < out.ContentLength {
			if br.err == nil {
				br.err = io.ErrUnexpectedEOF
			}
			return br.err
		}
		return err
	}
	cw := httputil.NewChunkedWriter(w)
	if _, err := io.Copy(cw, br); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\r\n")
	return err
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
func (p *plainPool) appendRequest(b []byte, prefix, host string, req *diff.Request, out *Outgoing) []byte {
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
	switch {
	case out != nil && out.Body != nil && out.ContentLength < 0:
		b = append(b, "Transfer-Encoding: chunked\r\n\r\n"...)
		return b
	case out != nil && out.Body != nil:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, out.ContentLength, 10)
		b = append(b, "\r\n\r\n"...)
		return b
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
