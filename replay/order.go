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
	// backlog, when set, counts records emitted but still waiting
	// elsewhere (the merge of a sharded read): they count against maxHeld.
	backlog func() int
}

// add takes e in key order: entries come in that order but for those a
// flush finds, which it finds connection by connection.
func (o *order) add(e *entry) {
	o.held = append(o.held, e)
	for i := len(o.held) - 1; i > 0 && e.key.less(o.held[i-1].key); i-- {
		o.held[i], o.held[i-1] = o.held[i-1], e
	}
}

// pump emits what is ready; now is the capture time reached.
func (o *order) pump(now time.Time) {
	extra := 0
	if o.backlog != nil && len(o.held) > 0 {
		extra = o.backlog()
	}
	i := 0
	for ; i < len(o.held); i++ {
		e := o.held[i]
		ready := e.done || len(o.held)-i+extra > maxHeld || (!now.IsZero() && now.Sub(e.time) > holdFor)
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
func (r *tcpReader) register(c *conn, e *entry) {
	r.stamp(c, e)
	r.order.add(e)
}

// stamp gives e, found on c, its place in capture order (see key).
func (r *tcpReader) stamp(c *conn, e *entry) {
	e.key = key{seq: r.seq, shard: r.shard, n: r.n}
	if r.flushing {
		e.key.sub = c.first + 1
	}
	r.n++
}

// resolve settles e: its answer is known, or known to be missing.
func (r *tcpReader) resolve(e *entry) {
	if e.done {
		return
	}
	e.done = true
	if !r.flushing {
		r.order.pump(time.Time{})
	}
}

// skipUnit emits a unit that is not a request: bytes of a connection that
// held no whole request, for reason.
func (r *tcpReader) skipUnit(c *conn, reason string) {
	e := r.newEntry()
	*e = entry{skip: reason, time: c.last, done: true}
	if c.client >= 0 {
		e.client, e.server = c.halves[c.client].addr, c.halves[1-c.client].addr
	} else {
		e.client, e.server = c.halves[0].addr, c.halves[1].addr
	}
	r.register(c, e)
	if !r.flushing {
		r.order.pump(time.Time{})
	}
}

// record turns an entry into what the reader hands out, counting it.
func (r *tcpReader) record(e *entry) {
	// Records and their answers are carved from slabs, as messages are.
	if len(r.recs) == 0 {
		r.recs = make([]recordWithAnswer, 64)
	}
	both := &r.recs[0]
	r.recs = r.recs[1:]
	both.rec = Record{Client: e.client, Server: e.server, Skip: e.skip, Time: e.time}
	rec := &both.rec
	if m := e.req; m != nil {
		rec.Time, rec.Proto = m.time, m.proto
		rec.Request = diff.Request{Method: m.method, URI: m.uri, Host: requestHost(m), Header: m.header, Body: m.body}
		if e.skip == "" {
			rec.ResponseLost = e.respLost // else the request itself is not whole
		}
	}
	if m := e.resp; m != nil && e.req != nil {
		rec.Response = &both.resp
		*rec.Response = diff.Response{
			Status: m.status, Proto: m.proto, Header: m.header, Trailer: m.trailer,
			Body: m.body, BodyTruncated: m.truncated || (!r.cfg.Responses && m.bodyLen > 0),
			TTFB: m.time.Sub(e.req.end), Total: m.end.Sub(e.req.time),
		}
	}
	defer r.recycle(e)
	if r.keyed != nil {
		r.keyed(e.key, rec) // the merge hands it out and counts it
		return
	}
	if r.err != nil {
		return
	}
	if r.err = r.emit(rec); r.err != nil {
		return // not handed out: not counted
	}
	r.stats.count(rec)
}

// newEntry reuses an entry given back or carves one from a slab, as
// messages are.
func (r *tcpReader) newEntry() *entry {
	if n := len(r.freeEntries); n > 0 {
		e := r.freeEntries[n-1]
		r.freeEntries = r.freeEntries[:n-1]
		return e
	}
	if len(r.entries) == 0 {
		r.entries = make([]entry, 64)
	}
	e := &r.entries[0]
	r.entries = r.entries[1:]
	return e
}

// recycle takes back a settled entry, once emitted, and its messages: no
// connection queue holds a settled entry, no parser a finished message,
// and the record made of them refers to neither.
func (r *tcpReader) recycle(e *entry) {
	if !e.done {
		return // its answer may still come
	}
	r.msgs.put(e.req)
	r.msgs.put(e.resp)
	if len(r.freeEntries) < maxFree {
		*e = entry{}
		r.freeEntries = append(r.freeEntries, e)
	}
}

type recordWithAnswer struct {
	rec  Record
	resp diff.Response
}

// requestHost is the Host header, or the authority of an absolute URI.
func requestHost(m *message) string {
	if h := m.framing.host; h != "" {
		return h
	}
	if u, err := url.Parse(m.uri); err == nil && u.Host != "" {
		return u.Host
	}
	return ""
}
