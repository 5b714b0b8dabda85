package upstream

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/cutover/cutover/diff"
)

// Sender sends one request to one target and reads its answer, timed from
// the request's first byte written to the answer's first and last byte
// read. It never returns nil: a transport failure is a Response with Err.
// *Client is one; an HTTP/2 sender is another implementation of the same.
type Sender interface {
	Send(ctx context.Context, base *url.URL, out *Outgoing) *diff.Response
}

var _ Sender = (*Client)(nil)

// Pending is a request ready to be put on the wire: Start writes it (as
// much as the socket takes at once, never waiting), Finish completes it
// (writes what is left, reads the answer) on any goroutine, by the same
// clock as Send. A Pending never started is sent whole by Finish; every
// Pending must be finished, or it holds a connection.
type Pending interface {
	Start()
	Finish(ctx context.Context) *diff.Response
	// Answered reports whether the target has begun to answer, read or
	// not: the target is done with the request, whenever Finish reads it.
	Answered() bool
}

// Prepare readies out for base without writing anything: an idle
// connection taken and the request laid out, so that Start costs one
// write. It never blocks.
func (c *Client) Prepare(base *url.URL, out *Outgoing) Pending {
	if base.Scheme == "http" && c.h2 == nil {
		return c.plain.prepare(base, out)
	}
	return &deferred{c: c, base: base, out: out}
}

// StartTogether puts every request of ps on the wire back to back, from
// the caller's goroutine, in a random order. On a loaded machine the
// request written first is the one that pays: its clock runs while the
// next is written and while the writer still holds the CPU its target
// would take. A fixed order would make that a difference between the
// targets (identical servers measured ~10% apart, the first written the
// slower); a random one spreads it over all alike.
func StartTogether(ps ...Pending) {
	rand.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	for _, p := range ps {
		p.Start()
	}
}

// deferred is a Pending that sends only when finished (https and HTTP/2
// targets).
type deferred struct {
	c    *Client
	base *url.URL
	out  *Outgoing
}

func (d *deferred) Start()                                    {}
func (d *deferred) Finish(ctx context.Context) *diff.Response { return d.c.Send(ctx, d.base, d.out) }
func (d *deferred) Answered() bool                            { return false }

// Outgoing is one request to send and what to do with its answer. Only Req
// is required: the zero value of every other field sends Req.Body and keeps
// the answer's body up to Config.MaxBody, like Client.Do.
type Outgoing struct {
	Req *diff.Request

	// Body, when set, is streamed as the request body instead of Req.Body:
	// ContentLength bytes, or chunked when ContentLength is negative. A
	// streamed request is never sent twice. An error reading it ends the
	// exchange and is kept in BodyErr: it is the client's fault, not the
	// target's.
	Body          io.Reader
	ContentLength int64

	// Relay, when set, is handed the answer as it is read: its head once,
	// then its body piece by piece. Time spent in Relay is not the
	// target's and is left out of TTFB and Total. When Relay fails (the
	// client went away), reading stops and the error is kept in RelayErr.
	Relay Relay

	// Keep caps the body bytes kept in the Response: 0 means
	// Config.MaxBody, negative keeps none. Past it the body is still read
	// (and relayed) and the Response is marked BodyTruncated.
	Keep int64
	// Budget, when set, hands out the buffers a kept body grows into; when
	// it refuses, nothing more is kept, BodyTruncated is set and so is
	// OverBudget.
	Budget Budget

	// Set by Send.
	BodyErr    error // reading Body failed
	RelayErr   error // Relay failed
	OverBudget bool  // Budget refused
}

// Relay takes an answer while it is read from the target.
type Relay interface {
	// Head is called once, before any of the body, with the answer's
	// status line and header (hop-by-hop fields still in it).
	Head(status int, proto string, header http.Header) error
	// Body is called with each piece of the body as read; p is reused
	// after it returns. more says that more of the body is already read
	// and will follow at once: a relay flushes when it is false.
	Body(p []byte, more bool) error
}

// Budget bounds the memory that kept bodies hold. Buffer hands out an
// empty buffer of capacity n (n > 0), or nil when it cannot spare n bytes;
// the bytes count against it for as long as the buffer lives.
type Budget interface {
	Buffer(n int) []byte
}

// keeper keeps the first limit bytes of a body, in buffers from budget
// when there is one.
type keeper struct {
	buf       []byte
	limit     int64
	budget    Budget
	truncated bool
	refused   bool
}

// reserve sizes the buffer for a body of n bytes (when known) at once.
func (k *keeper) reserve(n int64) {
	n = min(n, k.limit)
	if n <= 0 || k.refused {
		return
	}
	k.grow(int(n))
}

// grow makes room for n more bytes in one new buffer.
func (k *keeper) grow(n int) bool {
	if len(k.buf)+n <= cap(k.buf) {
		return true
	}
	newCap := int(min(int64(max(2*cap(k.buf), len(k.buf)+n, 512)), k.limit))
	var b []byte
	if k.budget == nil {
		b = make([]byte, 0, newCap)
	} else if b = k.budget.Buffer(newCap); b == nil {
		k.refused, k.truncated, k.buf = true, true, nil
		return false
	}
	k.buf = append(b, k.buf...)
	return true
}

func (k *keeper) keep(p []byte) {
	if k.truncated || len(p) == 0 {
		if len(p) > 0 {
			k.truncated = true
		}
		return
	}
	room := k.limit - int64(len(k.buf))
	if int64(len(p)) > room {
		p = p[:room]
		k.truncated = true
	}
	if len(p) == 0 || !k.grow(len(p)) {
		return
	}
	k.buf = append(k.buf, p...)
}

func (k *keeper) body() []byte {
	if len(k.buf) == 0 {
		return nil
	}
	return k.buf
}

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// relayClock times the reads of a body relayed to a client: the moment of
// the last read, less the time spent in the relay before it.
type relayClock struct {
	wait, waitAtLast time.Duration
	lastRead         time.Time
}

// consume reads body to its end, keeping it in k and handing it to relay
// (which may be nil). more says whether more body is already buffered.
func consume(body io.Reader, more func() bool, k *keeper, out *Outgoing, clock *relayClock) error {
	bp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bp)
	buf := *bp
	for {
		n, err := body.Read(buf)
		clock.lastRead, clock.waitAtLast = time.Now(), clock.wait
		if n > 0 {
			if k != nil {
				k.keep(buf[:n])
			}
			if out.Relay != nil {
				t := time.Now()
				rerr := out.Relay.Body(buf[:n], err == nil && more())
				clock.wait += time.Since(t)
				if rerr != nil {
					out.RelayErr = rerr
					return rerr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// bodyReader remembers the error of reading a streamed request body, so
// that a client's fault is told from a target's.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
