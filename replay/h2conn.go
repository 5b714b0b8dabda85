package replay

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// protoH2 is the Proto of records read from HTTP/2.
const protoH2 = "HTTP/2.0"

// h2Conn reads one HTTP/2 connection out of its two directions'
// plaintext: frames by x/net's Framer, header blocks by its HPACK decoder
// (one per direction, fed every block in order, as its table needs), and
// one exchange per stream, emitted as the connection's HTTP/1.x requests
// are. It runs on its connection's goroutine.
type h2Conn struct {
	c       *conn
	dirs    [2]h2Dir
	streams map[uint32]*h2Stream
	broken  bool
}

// h2Dir is one direction: bytes of a frame cut by a segment or record
// boundary, the Framer reading whole frames, the header block being read.
type h2Dir struct {
	buf     []byte
	preface bool // the client's preface was read (the server sends none)
	src     frameSrc
	fr      *http2.Framer
	dec     *hpack.Decoder
	fields  []hpack.HeaderField
	block   []byte // a header block continued in CONTINUATION frames
	blockID uint32
	blockES bool // the HEADERS frame that opened it ended its stream
}

// h2Stream is one exchange: the request and answer being read.
type h2Stream struct {
	req, resp         *message
	reqDone, respDone bool
	e                 *entry // set once the request is whole
}

// frameSrc hands the Framer one whole frame at a time.
type frameSrc struct{ b []byte }

func (s *frameSrc) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// maxH2Frame is the largest frame read (SETTINGS_MAX_FRAME_SIZE's limit).
const maxH2Frame = 1<<24 - 1

func newH2Conn(c *conn) *h2Conn {
	h := &h2Conn{c: c, streams: map[uint32]*h2Stream{}}
	for i := range h.dirs {
		d := &h.dirs[i]
		d.fr = http2.NewFramer(nil, &d.src)
		d.fr.SetMaxReadFrameSize(maxH2Frame)
		d.fr.SetReuseFrames()
		// Reading, not serving: any table size the peer's encoder uses is
		// taken, the settings that allowed it may not be in the capture.
		d.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { d.fields = append(d.fields, f) })
		d.dec.SetAllowedMaxDynamicTableSize(1 << 20)
		d.dec.SetMaxStringLength(maxHeaderBytes)
	}
	return h
}

// feed takes the next plaintext of a direction, read at capture time at.
func (h *h2Conn) feed(role int, data []byte, at time.Time) {
	if h.broken {
		return
	}
	d := &h.dirs[role]
	d.buf = append(d.buf, data...)
	b := d.buf
	if role == roleClient && !d.preface {
		if len(b) < len(h2Preface) {
			return
		}
		if !looksLikeH2(b[:len(h2Preface)]) {
			h.fail(ReasonMalformed)
			return
		}
		b, d.preface = b[len(h2Preface):], true
	}
	for !h.broken && len(b) >= 9 {
		n := 9 + int(uint32(b[0])<<16|uint32(b[1])<<8|uint32(b[2]))
		if len(b) < n {
			break
		}
		d.src.b = b[:n]
		f, err := d.fr.ReadFrame()
		b = b[n:]
		if err != nil {
			if _, ok := err.(http2.StreamError); ok {
				continue // that stream's frame is passed over, the connection goes on
			}
			h.fail(ReasonMalformed)
			return
		}
		h.frame(role, d, f, at)
	}
	d.buf = append(d.buf[:0], b...)
}

// frame handles one frame of a direction.
func (h *h2Conn) frame(role int, d *h2Dir, f http2.Frame, at time.Time) {
	switch f := f.(type) {
	case *http2.HeadersFrame:
		d.block, d.blockID, d.blockES = append(d.block[:0], f.HeaderBlockFragment()...), f.StreamID, f.StreamEnded()
		if f.HeadersEnded() {
			h.headers(role, d, at)
		}
	case *http2.ContinuationFrame:
		d.block = append(d.block, f.HeaderBlockFragment()...)
		if f.HeadersEnded() {
			h.headers(role, d, at)
		}
	case *http2.PushPromiseFrame:
		// Pushed answers have no request of the client's: their header
		// block is read for the decoder's table only.
		d.block, d.blockID, d.blockES = append(d.block[:0], f.HeaderBlockFragment()...), 0, false
		if f.HeadersEnded() {
			h.headers(role, d, at)
		}
	case *http2.DataFrame:
		s := h.streams[f.StreamID]
		if s == nil {
			return
		}
		m, max := s.req, h.c.r.cfg.MaxBody
		if role == roleServer {
			m, max = s.resp, h.c.r.respBody()
		}
		if m == nil {
			return
		}
		keepBody(m, f.Data(), max)
		if f.StreamEnded() {
			h.ended(role, f.StreamID, s, at)
		}
	case *http2.RSTStreamFrame:
		if s := h.streams[f.StreamID]; s != nil {
			h.reset(f.StreamID, s)
		}
	}
}

// headers decodes the header block just read whole and applies it to its
// stream: a request's or answer's header, an interim answer, or trailers.
func (h *h2Conn) headers(role int, d *h2Dir, at time.Time) {
	d.fields = d.fields[:0]
	if _, err := d.dec.Write(d.block); err != nil {
		h.fail(ReasonMalformed) // the table is lost: nothing after can be read
		return
	}
	if err := d.dec.Close(); err != nil {
		h.fail(ReasonMalformed)
		return
	}
	id, ended := d.blockID, d.blockES
	d.block = d.block[:0]
	if id == 0 || id%2 == 0 {
		return // a push promise, or a stream the server opened
	}
	s := h.streams[id]
	lean := h.c.r.cfg.FramingHeadersOnly
	if role == roleClient {
		switch {
		case s == nil:
			m := h.c.r.msgs.next(0, at)
			m.proto = protoH2
			h.fields(m, d.fields, lean, true)
			s = &h2Stream{req: m}
			h.streams[id] = s
		case s.req != nil && !s.reqDone:
			s.req.trailer = trailerOf(d.fields)
		}
	} else {
		if s == nil || s.respDone {
			h.c.r.stats.Orphans++
			return
		}
		if s.resp == nil {
			m := h.c.r.msgs.next(0, at)
			m.proto = protoH2
			h.fields(m, d.fields, lean || !h.c.r.cfg.Responses, false)
			if m.status < 200 && !ended {
				// An interim answer (100 Continue, 103): the final one follows.
				h.c.r.msgs.put(m)
				return
			}
			s.resp = m
		} else {
			s.resp.trailer = trailerOf(d.fields)
		}
	}
	if ended {
		h.ended(role, id, s, at)
	}
}

// fields makes a header block the message's pseudo-header values and
// header (unless lean): the names HTTP/2 writes in lower case are
// canonicalised and cookies joined, as an HTTP/1.1 request would carry them.
func (h *h2Conn) fields(m *message, fields []hpack.HeaderField, lean, request bool) {
	var hdr http.Header
	if !lean {
		hdr = make(http.Header, len(fields))
	}
	var cookies []string
	for _, f := range fields {
		if strings.HasPrefix(f.Name, ":") {
			switch f.Name {
			case ":method":
				m.method = methodString([]byte(f.Value))
			case ":path":
				m.uri = f.Value
			case ":authority":
				m.framing.host, m.framing.hasHost = f.Value, true
			case ":status":
				m.status, _ = strconv.Atoi(f.Value)
			}
			continue
		}
		if request && f.Name == "host" && !m.framing.hasHost {
			m.framing.host, m.framing.hasHost = f.Value, true
		}
		if hdr == nil {
			continue
		}
		if f.Name == "cookie" {
			cookies = append(cookies, f.Value)
			continue
		}
		k := http.CanonicalHeaderKey(f.Name)
		hdr[k] = append(hdr[k], f.Value)
	}
	if len(cookies) > 0 {
		hdr["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	m.header = hdr
}

func trailerOf(fields []hpack.HeaderField) http.Header {
	t := make(http.Header, len(fields))
	for _, f := range fields {
		if !strings.HasPrefix(f.Name, ":") {
			k := http.CanonicalHeaderKey(f.Name)
			t[k] = append(t[k], f.Value)
		}
	}
	return t
}

// keepBody adds body bytes to m, up to max.
func keepBody(m *message, b []byte, max int) {
	m.bodyLen += int64(len(b))
	if room := max - len(m.body); room > 0 {
		m.body = append(m.body, b[:min(room, len(b))]...)
	}
	if m.bodyLen > int64(max) {
		m.truncated = true
	}
}

// ended handles the end of a direction of stream id.
func (h *h2Conn) ended(role int, id uint32, s *h2Stream, at time.Time) {
	c := h.c
	if role == roleClient {
		if s.reqDone {
			return
		}
		s.reqDone = true
		s.req.end = at
		h.register(s, "")
		if s.req.truncated {
			s.e.skip = ReasonBodyOverCap
		}
	} else {
		if s.resp == nil || s.respDone {
			return
		}
		s.respDone = true
		s.resp.end = at
	}
	if s.reqDone && s.respDone {
		delete(h.streams, id)
		s.e.resp = s.resp
		c.r.resolve(s.e)
	}
}

// register queues a stream's request in capture order.
func (h *h2Conn) register(s *h2Stream, skip string) {
	c := h.c
	c.found = true
	cl, sv := &c.halves[c.client], &c.halves[1-c.client]
	e := c.r.newEntry()
	*e = entry{req: s.req, client: cl.addr, server: sv.addr, time: s.req.end, skip: skip}
	if e.time.IsZero() {
		e.time = s.req.time
	}
	s.e = e
	c.r.register(c, e)
}

// reset ends a stream that RST_STREAM cancelled: a whole request stays,
// without an answer; one cut short is skipped as incomplete.
func (h *h2Conn) reset(id uint32, s *h2Stream) {
	delete(h.streams, id)
	h.settle(s)
}

func (h *h2Conn) settle(s *h2Stream) {
	c := h.c
	if !s.reqDone {
		h.register(s, ReasonIncomplete)
	} else if s.respDone {
		s.e.resp = s.resp
	} else if s.resp != nil {
		c.r.msgs.put(s.resp)
	}
	c.r.resolve(s.e)
}

// end settles every stream still open when the connection ends, in the
// order they were opened.
func (h *h2Conn) end() {
	ids := make([]uint32, 0, len(h.streams))
	for id := range h.streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		h.settle(h.streams[id])
		delete(h.streams, id)
	}
}

// fail stops reading the connection: what its bytes hold after this
// cannot be told apart.
func (h *h2Conn) fail(reason string) {
	h.broken = true
	if h.c.dead == "" {
		h.c.dead = reason
	}
}
