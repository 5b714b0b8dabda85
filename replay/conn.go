package replay

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// conn is one TCP connection: both directions, each parsed as it is
// reassembled, and the requests waiting for their answers. It implements
// reassembly.Stream; the assembler calls it from the reading goroutine only.
type conn struct {
	r       *tcpReader
	halves  [2]half // indexed by reassembly.TCPFlowDirection
	client  int     // index of the client half, -1 until known
	syn     bool    // the handshake was seen: the stream's start is known
	queue   []*entry
	lost    []span // server-stream ranges lost or left unattributed
	dead    string // why the connection carries no (more) HTTP
	found   bool   // a request was found on it
	hadData bool
	gapped  bool // a gap in the client direction was counted
	orphans int  // answers found on it without their request
	last    time.Time
	first   uint64 // the packet that began it
	layer   *layer // TLS or HTTP/2 between the bytes and HTTP (layer.go), noLayer for none

	// Its 4-tuple's entry in the reader's table (reuse.go), the client's
	// initial sequence number, and whether it was settled already.
	tuple   *tupleState
	isn     uint32
	isnOK   bool
	settled bool

	// The capture times of the bytes being fed: sg's, or sgTime for all
	// of them when sg is one chunk (one packet, mostly). at is
	// c.captureTime, made once rather than a closure per segment.
	sg     reassembly.ScatterGather
	sgOne  bool
	sgTime time.Time
	at     clock
}

func (c *conn) captureTime(off int) time.Time {
	if c.sgOne {
		return c.sgTime
	}
	return c.sg.CaptureInfo(off).Timestamp
}

// half is one direction of a connection.
type half struct {
	addr   string
	p      *parser
	base   uint32 // sequence number of stream position 0
	baseOK bool
	maxAck uint32
	ackOK  bool
	fin    bool
	rst    bool        // a RST was seen (it ends the stream only when delivered)
	segs   [32]segment // recent segments with payload, for the ack a request was sent with
	nseg   int
	late   []segment // segments that came out of order
}

// maxLate bounds the out-of-order segments remembered per direction, as
// the assembler's page limit bounds the segments it queues.
const maxLate = maxPagesPerConn

type segment struct{ seq, len, ack uint32 }

type span struct{ from, to int64 }

func dirIndex(d reassembly.TCPFlowDirection) int {
	if d == reassembly.TCPDirServerToClient {
		return 1
	}
	return 0
}

func newConn(r *tcpReader, netFlow gopacket.Flow, tcp *layers.TCP) *conn {
	c := &conn{r: r, client: -1, first: r.seq}
	c.at = c.captureTime
	src, dst := netFlow.Endpoints()
	c.halves[0].addr = hostPort(src, tcp.SrcPort)
	c.halves[1].addr = hostPort(dst, tcp.DstPort)
	if tcp.SYN {
		c.syn = true
		c.client = 0 // a SYN opens from the client
		if tcp.ACK {
			c.client = 1 // a SYN-ACK answers from the server
		}
	}
	return c
}

func hostPort(ip gopacket.Endpoint, port layers.TCPPort) string {
	a, _ := netip.AddrFromSlice(ip.Raw())
	return netip.AddrPortFrom(a.Unmap(), uint16(port)).String()
}

// Accept takes every segment: validity is the capture's, not ours to judge.
// It starts a direction whose SYN was not seen at its first segment and
// records acknowledgements, which pair answers with requests.
func (c *conn) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, _ reassembly.AssemblerContext) bool {
	h := &c.halves[dirIndex(dir)]
	c.noteISN(tcp)
	if nextSeq < 0 && !h.baseOK && !tcp.SYN && !tcp.FIN && len(tcp.Payload) == 0 {
		// A bare ACK or RST starts nothing: on a reused 4-tuple it is
		// often the old connection's (a challenge ACK to the new SYN),
		// whose numbers would hide the new connection's bytes or show
		// bytes lost that never were.
		return false
	}
	if nextSeq < 0 && !h.baseOK {
		h.base, h.baseOK = tcp.Seq, true
		if tcp.SYN {
			h.base++
		} else {
			*start = true // capture began mid-flow: take the stream from here
		}
	}
	c.noteAck(h, tcp)
	if n := len(tcp.Payload); n > 0 && tcp.ACK {
		seg := segment{seq: tcp.Seq, len: uint32(n), ack: tcp.Ack}
		if nextSeq >= 0 && uint32(nextSeq) != tcp.Seq {
			// Out of order: it may wait long for the gap before it, so
			// it is kept apart from the short ring of in-order segments.
			if len(h.late) >= maxLate {
				h.late = append(h.late[:0], h.late[maxLate/2:]...)
			}
			h.late = append(h.late, seg)
		} else {
			h.segs[h.nseg%len(h.segs)] = seg
			h.nseg++
		}
	}
	if ci.Timestamp.After(c.last) {
		c.last = ci.Timestamp
	}
	return true
}

// resetBy settles c once a RST has ended direction i: neither side sends
// on a reset connection, so the answers still awaited will not come, and
// waiting for the other direction to go idle would hold every later
// request back (records are emitted in capture order).
func (c *conn) resetBy(i int, end bool) {
	if h := &c.halves[i]; end && h.rst && !h.fin && !c.r.flushing {
		c.settle()
	}
}

// noteAck records the acknowledgement a segment of h carries.
func (c *conn) noteAck(h *half, tcp *layers.TCP) {
	if tcp.ACK {
		if !h.ackOK || int32(tcp.Ack-h.maxAck) > 0 {
			h.maxAck = tcp.Ack
		}
		h.ackOK = true
	}
	if tcp.FIN {
		h.fin = true
	}
	if tcp.RST {
		h.rst = true
	}
}

// ackAt returns the acknowledgement sent with the byte at stream position pos.
func (h *half) ackAt(pos int64) (uint32, bool) {
	seq := h.base + uint32(pos)
	for i := 0; i < min(h.nseg, len(h.segs)); i++ {
		s := h.segs[i]
		if seq-s.seq < s.len {
			return s.ack, true
		}
	}
	for _, s := range h.late {
		if seq-s.seq < s.len {
			return s.ack, true
		}
	}
	return 0, false // unknown: pairing falls back to order alone
}

// ReassembledSG feeds reassembled bytes to the direction's parser.
func (c *conn) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	dir, _, end, skip := sg.Info()
	defer c.resetBy(dirIndex(dir), end)
	i := dirIndex(dir)
	n, _ := sg.Lengths()
	data := sg.Fetch(n)
	if c.settled {
		return // retired: a new connection took its 4-tuple
	}
	if n > 0 {
		c.hadData = true
	}
	if c.dead != "" {
		return
	}
	if c.client < 0 && n > 0 {
		c.client = guessClient(i, data, c.halves[0].addr, c.halves[1].addr)
	}
	if c.client < 0 || c.layered(i, sg, data, skip) {
		return
	}
	h := &c.halves[i]
	if h.p == nil {
		c.startParsers()
	}
	if skip > 0 {
		h.p.gap(int64(skip))
	}
	if n > 0 {
		c.sg, c.sgOne = sg, false
		if sg.Stats().Chunks == 1 {
			c.sgOne, c.sgTime = true, sg.CaptureInfo(0).Timestamp
		}
		from := h.p.pos
		h.p.feed(data, c.at)
		c.sg = nil
		if c.dead == ReasonUpgrade && c.layer != noLayer && c.layer != nil {
			c.upgraded(i, sg, data[h.p.pos-from:]) // h2c: the rest is HTTP/2 (layer.go)
			return
		}
	}
	if i == c.client {
		c.halves[1-c.client].p.retry(false) // a held answer may now find its request
	}
}

func (c *conn) startParsers() {
	cl, sv := &c.halves[c.client], &c.halves[1-c.client]
	cl.p = newParser(roleRequest, requestSide{c}, c.r.cfg.MaxBody, c.syn)
	sv.p = newParser(roleResponse, responseSide{c}, c.r.respBody(), c.syn)
	cl.p.msgs, sv.p.msgs = &c.r.msgs, &c.r.msgs
	cl.p.lean = c.r.cfg.FramingHeadersOnly
	sv.p.lean = c.r.cfg.FramingHeadersOnly || !c.r.cfg.Responses // a replay needs no recorded headers
}

// ReassemblyComplete ends both directions and settles every request still
// waiting; the connection is then dropped from the pool. During a flush
// the reader settles it once the flush is over (tcpReader.flush).
func (c *conn) ReassemblyComplete(_ reassembly.AssemblerContext) bool {
	c.r.untrack(c)
	if c.r.flushing {
		c.r.closing = append(c.r.closing, c)
		return true
	}
	c.settle()
	return true
}

// settle ends both directions and settles every request still waiting.
func (c *conn) settle() {
	if c.settled {
		return
	}
	c.settled = true
	if c.syn || c.hadData {
		c.r.stats.Streams++ // not the strays a connection's last ACKs make
	}
	if c.client >= 0 && c.halves[c.client].p != nil {
		cl, sv := &c.halves[c.client], &c.halves[1-c.client]
		cl.lostTail(sv)
		sv.lostTail(cl)
		cl.p.end(c.last)
		sv.p.end(c.last)
		c.endLayer()
	}
	for len(c.queue) > 0 {
		e := c.queue[0]
		c.queue = c.queue[1:]
		if c.responseLost(e) {
			e.respLost = ReasonGap
		}
		c.r.resolve(e)
	}
	switch {
	case c.dead != "" && c.dead != ReasonUpgrade:
		c.r.skipUnit(c, c.dead)
	case !c.found && c.hadData && c.dead == "" && !c.gapped:
		if c.orphans > 0 {
			c.r.skipUnit(c, ReasonGap) // answers came, their requests were lost
		} else {
			c.r.skipUnit(c, ReasonNotHTTP)
		}
	}
}

// responseLost reports whether the answer to e, never seen, was in bytes
// the capture lost: a gap after e was sent, or data the client
// acknowledged that the capture does not hold.
func (c *conn) responseLost(e *entry) bool {
	sv, cl := &c.halves[1-c.client], &c.halves[c.client]
	if sv.p == nil || !sv.baseOK {
		return false
	}
	ack := sv.position(e.req.ack, sv.p.pos)
	for _, s := range c.lost {
		if s.to > ack || !e.req.ackOK {
			return true
		}
	}
	if cl.ackOK && e.req.ackOK {
		end := sv.p.pos
		if sv.fin {
			end++ // a FIN takes one sequence number
		}
		if acked := sv.position(cl.maxAck, end); acked > end && acked > ack {
			return true
		}
	}
	return false
}

// lostTail reports to h's parser the bytes at the end of its direction that
// the peer acknowledged but the capture does not hold: a segment lost with
// nothing after it to show the gap.
func (h *half) lostTail(peer *half) {
	if h.p == nil || !h.baseOK || !peer.ackOK {
		return
	}
	end := h.p.pos
	if h.fin {
		end++ // a FIN takes one sequence number
	}
	if acked := h.position(peer.maxAck, end); acked > end {
		h.p.gap(acked - end)
	}
}

// position maps a 32-bit sequence number to the stream position nearest
// near, which keeps streams over 4 GiB (wrapped numbers) right.
func (h *half) position(seq uint32, near int64) int64 {
	return near + int64(int32(seq-(h.base+uint32(near))))
}

// guessClient decides which half is the client when the handshake was not
// captured: the side whose bytes start like a request, else the side that
// answers with a status line is the server, else the higher port.
func guessClient(i int, data []byte, a0, a1 string) int {
	var m message
	line := data
	if j := indexLF(data); j >= 0 {
		line = trimEOL(data[:j+1])
	}
	switch {
	case startLine(roleRequest, line, &m):
		return i
	case startLine(roleResponse, line, &m):
		return 1 - i
	}
	if port(a0) > port(a1) {
		return 0
	}
	return 1
}

func indexLF(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

func port(addr string) int {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			n, _ := strconv.Atoi(addr[i+1:])
			return n
		}
	}
	return 0
}
