package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
}

// staleAfter is how long a connection may sit idle before it is checked
// for a close by the target (an idle timeout) before reuse: a request
// written on a connection the target already closed would fail for
// nothing, and could not be repeated when it is a POST.
const staleAfter = time.Second

func newPlainPool(cfg Config) *plainPool {
	return &plainPool{cfg: cfg, dial: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}, idle: map[string][]*plainConn{}}
}

func (p *plainPool) get(ctx context.Context, addr string) (*plainConn, bool, error) {
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
	c, err := p.dial.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	return &plainConn{Conn: c, br: bufio.NewReaderSize(c, 16<<10)}, false, nil
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

// do sends req to base (an http URL). A request that fails on a reused
// connection before any answer came, the way a connection the target
// closed while idle fails, is sent again once on a new connection when it
// is safe to repeat.
func (p *plainPool) do(ctx context.Context, base *url.URL, req *diff.Request) *diff.Response {
	addr := base.Host
	if base.Port() == "" {
		addr = net.JoinHostPort(base.Hostname(), "80")
	}
	wire, err := p.encode(base, req)
	if err != nil {
		return &diff.Response{Err: err.Error()}
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx, addr)
		if err != nil {
			return &diff.Response{Err: Describe(err), Total: time.Since(start)}
		}
		out, answered, keep := p.exchange(ctx, c, wire, req.Method, start)
		if keep {
			p.put(addr, c)
		} else {
			c.Close()
		}
		if out.Err != "" && reused && !answered && attempt == 0 && idempotent(req.Method) && ctx.Err() == nil {
			continue
		}
		return out
	}
}

// exchange writes one request on c and reads its answer. answered says
// whether any byte of an answer came; keep whether c can serve again.
func (p *plainPool) exchange(ctx context.Context, c *plainConn, wire []byte, method string, start time.Time) (out *diff.Response, answered, keep bool) {
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		// Once the cancel has run, it may still move the deadline of a
		// later request: such a connection is not reused.
		if !stop() {
			keep = false
		}
	}()
	fail := func(err error) *diff.Response {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return &diff.Response{Err: Describe(err), Total: time.Since(start)}
	}
	if _, err := c.Write(wire); err != nil {
		return fail(err), false, false
	}
	if _, err := c.br.Peek(1); err != nil {
		return fail(err), false, false
	}
	ttfb := time.Since(start)
	hreq := &http.Request{Method: method}
	var resp *http.Response
	for {
		var err error
		if resp, err = http.ReadResponse(c.br, hreq); err != nil {
			return fail(err), true, false
		}
		// Interim answers (100 Continue, 103 Early Hints) precede the real one.
		if resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		break
	}
	var body bytes.Buffer
	_, err := io.Copy(&body, io.LimitReader(resp.Body, p.cfg.MaxBody))
	truncated := false
	if err == nil {
		var n int64
		n, err = io.Copy(io.Discard, resp.Body)
		truncated = n > 0
	}
	resp.Body.Close()
	out = &diff.Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Trailer: resp.Trailer,
		Body: body.Bytes(), BodyTruncated: truncated, TTFB: ttfb, Total: time.Since(start)}
	if err != nil {
		out.Err = "reading body: " + Describe(err)
		return out, true, false
	}
	return out, true, !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
}

// encode writes the request as it goes on the wire.
func (p *plainPool) encode(base *url.URL, req *diff.Request) ([]byte, error) {
	target := strings.TrimSuffix(base.EscapedPath(), "/") + req.URI
	if !strings.HasPrefix(target, "/") && target != "*" {
		return nil, fmt.Errorf("request uri %q: not a path", req.URI)
	}
	if !validToken(req.Method) || strings.ContainsAny(target, " \r\n") {
		return nil, fmt.Errorf("request %q %q: not a valid request line", req.Method, req.URI)
	}
	host := req.Host
	if host == "" {
		host = base.Host
	}
	var b bytes.Buffer
	b.Grow(256 + len(req.Body))
	b.WriteString(req.Method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for k, vs := range req.Header {
		if hopByHop(k) || strings.ContainsAny(k, " :\r\n") {
			continue
		}
		for _, v := range vs {
			b.WriteString(k + ": " + strings.NewReplacer("\r", " ", "\n", " ").Replace(v) + "\r\n")
		}
	}
	for k, vs := range p.cfg.Header {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	if len(req.Body) > 0 || (req.Method != "GET" && req.Method != "HEAD" && req.Method != "OPTIONS" && req.Method != "DELETE" && req.Method != "TRACE") {
		b.WriteString("Content-Length: " + strconv.Itoa(len(req.Body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(req.Body)
	return b.Bytes(), nil
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
