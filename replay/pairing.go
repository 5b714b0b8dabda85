package replay

import "time"

// maxQueue bounds the requests a connection keeps waiting for answers; an
// older one is settled without its answer (status unknown).
const maxQueue = 1024

// entry is a request found on a connection (or a unit that could not be
// read), on its way to being emitted in capture order.
type entry struct {
	req            *message // nil for a unit that is not a request
	resp           *message
	client, server string
	time           time.Time // capture time it was found at
	skip           string
	respLost       string // why its recorded answer is missing or damaged
	done           bool   // its answer is settled
	emitted        bool
	key            key // its place in capture order
}

// requestSide handles the client direction of a connection.
type requestSide struct{ c *conn }

func (s requestSide) pair(*message, bool) (string, bool) { return "", true }

func (s requestSide) complete(m *message) {
	c := s.c
	c.found = true
	e := c.enqueue(m)
	if m.truncated {
		e.skip = ReasonBodyOverCap
	}
}

// lost queues a request broken after its start line, so that it still
// takes its answer off the queue; bytes lost between messages held at
// least one request, counted once.
func (s requestSide) lost(m *message, _, _ int64, reason string) {
	c := s.c
	if m == nil || reason == ReasonIncomplete && m.method == "" {
		c.gapped = c.gapped || reason == ReasonGap
		c.r.skipUnit(c, reason)
		return
	}
	c.found = true
	c.enqueue(m).skip = reason
}

func (s requestSide) dead(reason string) {
	if s.c.dead == "" {
		s.c.dead = reason
	}
}

func (c *conn) enqueue(m *message) *entry {
	cl, sv := &c.halves[c.client], &c.halves[1-c.client]
	m.ack, m.ackOK = cl.ackAt(m.start)
	e := c.r.newEntry()
	*e = entry{req: m, client: cl.addr, server: sv.addr, time: m.end}
	if e.time.IsZero() {
		e.time = m.time
	}
	c.queue = append(c.queue, e)
	c.r.register(c, e)
	if len(c.queue) > maxQueue {
		c.r.resolve(c.queue[0])
		c.queue = c.queue[1:]
	}
	return e
}

// responseSide handles the server direction of a connection.
type responseSide struct{ c *conn }

// pair finds the request a response starting at m.start answers. Requests
// are answered in order (pipelining included), and the acknowledgement a
// request was sent with tells which server bytes the client had already
// received: an answer that starts before it answers an earlier request
// (one the capture missed), and a loss between it and the answer means the
// request's own answer was lost.
func (s responseSide) pair(m *message, force bool) (string, bool) {
	c := s.c
	sv := &c.halves[1-c.client]
	for len(c.queue) > 0 {
		e := c.queue[0]
		if e.req.ackOK && sv.baseOK {
			ack := sv.position(e.req.ack, m.start)
			if ack > m.start {
				return "", true // answers a request not in the capture
			}
			if c.lostBetween(ack, m.start) {
				e.respLost = ReasonGap
				c.queue = c.queue[1:]
				c.r.resolve(e)
				continue
			}
		}
		c.queue = c.queue[1:]
		m.paired = e
		return e.req.method, true
	}
	if force {
		c.lost = append(c.lost, span{m.start, m.start + 1})
		return "", true
	}
	return "", false
}

func (c *conn) lostBetween(from, to int64) bool {
	for _, s := range c.lost {
		if s.to > from && s.from < to {
			return true
		}
	}
	return false
}

func (s responseSide) complete(m *message) {
	e := m.paired
	if e == nil {
		s.c.r.stats.Orphans++
		s.c.orphans++
		return
	}
	if m.status == 101 && e.req.framing.h2c && s.c.upgradeH2C(e, m) {
		return // the answer comes on HTTP/2's stream 1 (layer.go)
	}
	e.resp = m
	s.c.r.resolve(e)
}

func (s responseSide) lost(m *message, from, to int64, reason string) {
	c := s.c
	if len(c.lost) >= 64 {
		c.lost = c.lost[1:] // far behind every waiting request by now
	}
	c.lost = append(c.lost, span{from, to})
	if m == nil || m.paired == nil {
		return
	}
	// The request is whole: only its recorded answer is damaged.
	m.paired.respLost = reason
	c.r.resolve(m.paired)
}

func (s responseSide) dead(reason string) {
	if s.c.dead == "" {
		s.c.dead = reason
	}
}
