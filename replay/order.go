package replay

import (
	"net/url"
	"time"

	"github.com/cutover/cutover/diff"
)

// Emission order is capture order: the order in which requests were read
// whole. A request is held until its answer is settled and every earlier
// one was emitted; what is held is bounded by maxHeld entries and by
// holdFor of capture time, past which the oldest is emitted without its
// answer (a long poll, say) rather than holding everything behind it.
const (
	maxHeld = 1 << 14
	holdFor = 30 * time.Second
)

// order emits entries in capture order.
type order struct {
	held []*entry
	emit func(*entry)
}

func (o *order) add(e *entry) { o.held = append(o.held, e) }

// pump emits what is ready; now is the capture time reached.
func (o *order) pump(now time.Time) {
	i := 0
	for ; i < len(o.held); i++ {
		e := o.held[i]
		ready := e.done || len(o.held)-i > maxHeld || (!now.IsZero() && now.Sub(e.time) > holdFor)
		if !ready {
			break
		}
		if !e.emitted {
			e.emitted = true
			o.emit(e)
		}
	}
	if i > 0 {
		n := copy(o.held, o.held[i:])
		clear(o.held[n:])
		o.held = o.held[:n]
	}
}

// register takes a new request (or skipped unit) in capture order.
func (r *tcpReader) register(e *entry) { r.order.add(e) }

// resolve settles e: its answer is known, or known to be missing.
func (r *tcpReader) resolve(e *entry) {
	if e.done {
		return
	}
	e.done = true
	r.order.pump(time.Time{})
}

// skipUnit emits a unit that is not a request: bytes of a connection that
// held no whole request, for reason.
func (r *tcpReader) skipUnit(c *conn, reason string) {
	e := &entry{skip: reason, time: c.last, done: true}
	if c.client >= 0 {
		e.client, e.server = c.halves[c.client].addr, c.halves[1-c.client].addr
	} else {
		e.client, e.server = c.halves[0].addr, c.halves[1].addr
	}
	r.order.add(e)
	r.order.pump(time.Time{})
}

// record turns an entry into what the reader hands out, counting it.
func (r *tcpReader) record(e *entry) {
	rec := &Record{Client: e.client, Server: e.server, Skip: e.skip, Time: e.time}
	if m := e.req; m != nil {
		rec.Time, rec.Proto = m.time, m.proto
		rec.Request = diff.Request{Method: m.method, URI: m.uri, Host: requestHost(m), Header: m.header, Body: m.body}
	}
	if m := e.resp; m != nil && e.req != nil {
		rec.Response = &diff.Response{
			Status: m.status, Proto: m.proto, Header: m.header, Trailer: m.trailer,
			Body: m.body, BodyTruncated: m.truncated || (!r.cfg.Responses && m.bodyLen > 0),
			TTFB: m.time.Sub(e.req.end), Total: m.end.Sub(e.req.time),
		}
	}
	if r.err != nil {
		return
	}
	if r.err = r.emit(rec); r.err != nil {
		return // not handed out: not counted
	}
	r.stats.count(rec)
}

// requestHost is the Host header, or the authority of an absolute URI.
func requestHost(m *message) string {
	if h := m.header.Get("Host"); h != "" {
		return h
	}
	if u, err := url.Parse(m.uri); err == nil && u.Host != "" {
		return u.Host
	}
	return ""
}
