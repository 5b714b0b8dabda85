package replay

import (
	"time"

	"github.com/gopacket/gopacket/reassembly"
)

// A layer sits between a connection's reassembled bytes and what reads
// HTTP out of them when they are not HTTP/1.x in the clear: TLS, decrypted
// with a key log, and HTTP/2 (over TLS, or h2c with prior knowledge). The
// plaintext of HTTP/1.x over TLS goes to the connection's own parsers, at
// the TCP positions of the records that carried it, so that pairing by
// acknowledgement works on it as on plaintext.
type layer struct {
	c   *conn
	tls *tlsSession // nil for h2c
	h2  *h2Conn     // set once the plaintext shows the HTTP/2 preface
	h1  bool        // the plaintext is HTTP/1.x
	// held is server plaintext that came before the client's first (which
	// tells HTTP/1.x from HTTP/2), with where it was.
	held []heldPlain
}

type heldPlain struct {
	data     []byte
	from, to int64
	at       time.Time
}

// noLayer marks a connection read as plain HTTP/1.x.
var noLayer = &layer{}

// maxHeldPlain bounds the server plaintext held before the client's first.
const maxHeldPlain = 1 << 20

// layered hands the bytes of direction i to the connection's layer,
// choosing one at its first bytes; false means the connection has none and
// its parsers read the bytes as they are.
func (c *conn) layered(i int, sg reassembly.ScatterGather, data []byte, skip int) bool {
	if c.layer == nil {
		if len(data) == 0 {
			return false // decided at the first bytes
		}
		c.layer = noLayer
		switch {
		case i != c.client || !c.syn:
		case looksLikeClientHello(data) && c.r.cfg.TLSKeys.Len() > 0:
			c.layer = &layer{c: c}
			c.layer.tls = newTLSSession(c.r.cfg.TLSKeys, c.layer.plain)
		case looksLikeH2(data):
			c.layer = &layer{c: c}
		}
		if c.layer != noLayer {
			c.startParsers()
		}
	}
	if c.layer == noLayer {
		return false
	}
	if skip > 0 {
		c.layerDied(ReasonGap) // neither TLS records nor HTTP/2 frames can be found again
		return true
	}
	if len(data) == 0 {
		return true
	}
	c.sg, c.sgOne = sg, false
	if sg.Stats().Chunks == 1 {
		c.sgOne, c.sgTime = true, sg.CaptureInfo(0).Timestamp
	}
	defer func() { c.sg = nil }()
	role := roleClient
	if i != c.client {
		role = roleServer
	}
	l := c.layer
	if l.tls == nil {
		h := &c.halves[i]
		from := h.p.pos
		l.plain(role, data, from, from+int64(len(data)), c.at(len(data)-1))
		if c.dead != "" {
			c.layerDied(c.dead)
		}
		return true
	}
	if !l.tls.feed(role, data, c.at) {
		c.layerDied(l.tls.fail)
		return true
	}
	// What the parsers saw ends where the records read do.
	c.halves[i].p.pos = l.tls.dirs[role].pos
	if c.dead != "" {
		c.layerDied(c.dead) // HTTP/2 framing broke
	}
	return true
}

// layerDied ends a layered connection for reason: its parsers read no
// more, and what the capture holds after is the connection's skipped unit.
func (c *conn) layerDied(reason string) {
	if c.dead == "" {
		c.dead = reason
	}
	for i := range c.halves {
		if p := c.halves[i].p; p != nil {
			p.st, p.m, p.held, p.line = stDead, nil, nil, nil
		}
	}
}

// plain takes a direction's plaintext (decrypted, or h2c as it came).
func (l *layer) plain(role int, data []byte, from, to int64, at time.Time) {
	c := l.c
	if c.dead != "" {
		return
	}
	if !l.h1 && l.h2 == nil {
		if role == roleServer {
			if len(l.held) < 64 && heldBytes(l.held) < maxHeldPlain {
				l.held = append(l.held, heldPlain{append([]byte(nil), data...), from, to, at})
				return
			}
			l.h1 = true
		} else if looksLikeH2(data) {
			l.h2 = newH2Conn(c)
		} else {
			l.h1 = true
		}
		held := l.held
		l.held = nil
		l.plain(role, data, from, to, at)
		for _, p := range held {
			l.plain(roleServer, p.data, p.from, p.to, p.at)
		}
		return
	}
	h := &c.halves[c.client]
	if role == roleServer {
		h = &c.halves[1-c.client]
	}
	if l.h2 != nil {
		l.h2.feed(role, data, at)
		h.p.pos = to
		return
	}
	h.p.pos = from
	h.p.feed(data, func(int) time.Time { return at })
	h.p.pos = to
	if role == roleClient {
		c.halves[1-c.client].p.retry(false) // a held answer may now find its request
	}
}

func heldBytes(h []heldPlain) int {
	n := 0
	for _, p := range h {
		n += len(p.data)
	}
	return n
}

// endLayer settles what the layer still holds when its connection ends.
func (c *conn) endLayer() {
	if l := c.layer; l != nil && l.h2 != nil {
		l.h2.end()
	}
}

// upgradeH2C switches a connection whose request e asked for h2c and got
// 101 (m) to HTTP/2: the request is stream 1's, its answer is read from
// the frames that follow (RFC 7540 section 3.2). false when the
// connection has a layer already.
func (c *conn) upgradeH2C(e *entry, m *message) bool {
	if c.layer != noLayer {
		return false
	}
	l := &layer{c: c, h2: newH2Conn(c)}
	l.h2.streams[1] = &h2Stream{req: e.req, reqDone: true, e: e}
	c.layer = l
	c.r.msgs.put(m) // the 101 itself is no answer to compare
	return true
}

// upgraded goes on after the 101 of an h2c upgrade: the parsers are done,
// and the rest of the server's bytes (rest, of direction i) are HTTP/2.
func (c *conn) upgraded(i int, sg reassembly.ScatterGather, rest []byte) {
	c.dead = ""
	for j := range c.halves {
		if p := c.halves[j].p; p != nil {
			p.st, p.m, p.held, p.line = stDead, nil, nil, nil
		}
	}
	if len(rest) > 0 {
		c.layered(i, sg, rest, 0)
	}
}
