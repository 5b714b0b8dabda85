package replay

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// role is which side of a connection a direction carries.
type role uint8

const (
	roleRequest role = iota
	roleResponse
)

// handler receives what a parser finds. The parser calls it synchronously
// from feed, gap and end: there is no goroutine per stream.
type handler interface {
	// pair is asked, once the first header block of a response is read,
	// which request it answers, and returns that request's method. ok false
	// holds the response until the other direction has caught up; with force
	// set the handler must decide (ok true), e.g. at the end of the stream.
	pair(m *message, force bool) (method string, ok bool)
	// complete receives a whole message.
	complete(m *message)
	// lost reports bytes [from, to) that held no whole message: m is the
	// message they broke, or nil when they fell between messages.
	lost(m *message, from, to int64, reason string)
	// dead reports that the direction carries no more HTTP/1.x.
	dead(reason string)
}

type state uint8

const (
	stSniff   state = iota // first bytes of a stream whose start was seen
	stResync               // looking for a start line after a gap or a mid-flow start
	stStart                // expecting a start line
	stHeaders              // reading header lines
	stHold                 // a response waiting for its request
	stBody                 // Content-Length body
	stClose                // body ended by the connection's close
	stChunkSize
	stChunkData
	stChunkEnd
	stTrailers
	stDead
)

// parser is a push parser for one direction of an HTTP/1.x connection.
// Feed it the reassembled bytes in order; it keeps only a partial line, the
// body up to maxBody and, for a response held for pairing, its bytes.
type parser struct {
	role    role
	h       handler
	maxBody int
	maxHold int
	st      state
	pos     int64  // stream position of the next byte fed
	line    []byte // a line split across feeds
	hdr     int    // header bytes of the current message
	m       *message
	method  string // of the request a response answers
	left    int64  // bytes left in a Content-Length body or chunk
	held    []byte
	seen    bool // a start line was read: the direction speaks HTTP/1.x
	// block holds the header lines of the current message, each ended by
	// '\n', checked as they come and made into m.header in one go when
	// the block ends (one string for all names and values).
	block    []byte
	lines    int
	lean     bool      // keep no header block (ReadConfig.FramingHeadersOnly)
	msgs     *messages // where messages come from; nil: allocated one by one
	lastHost string    // see framingFields.add
}

// newParser returns a parser; started says whether the stream's start was
// seen (SYN), which allows recognising other protocols by their first bytes.
func newParser(r role, h handler, maxBody int, started bool) *parser {
	p := &parser{role: r, h: h, maxBody: maxBody, maxHold: 1 << 20, st: stResync}
	if started {
		p.st = stSniff
	}
	return p
}

// clock gives the capture time of the byte at an offset of the data fed.
type clock func(off int) time.Time

// feed parses data, which starts at stream position p.pos.
func (p *parser) feed(data []byte, at clock) {
	if p.st == stHold {
		p.hold(data)
		return
	}
	base := len(data)
	for len(data) > 0 && p.st != stDead && p.st != stHold {
		n := p.step(data, base-len(data), at)
		data = data[n:]
	}
	if len(data) > 0 && p.st == stHold {
		p.hold(data)
	}
}

// step consumes a prefix of data in the current state, advances p.pos
// past it and returns its length.
func (p *parser) step(data []byte, off int, at clock) int {
	switch p.st {
	case stSniff:
		head := append(p.line[:len(p.line):len(p.line)], data...)
		if len(head) < 4 && bytes.IndexByte(head, '\n') < 0 {
			p.line = head
			p.pos += int64(len(data))
			return len(data)
		}
		if reason := sniff(head); reason != "" {
			p.pos += int64(len(data))
			p.die(reason)
			return len(data)
		}
		p.st = stStart
		return 0
	case stResync:
		n := p.resync(data, off, at)
		p.pos += int64(n)
		return n
	case stBody, stChunkData:
		n := int(min(p.left, int64(len(data))))
		p.keep(data[:n])
		p.left -= int64(n)
		p.pos += int64(n)
		if p.left == 0 {
			if p.st == stBody {
				p.finish(at(off + n - 1))
			} else {
				p.st = stChunkEnd
			}
		}
		return n
	case stClose:
		p.keep(data)
		p.pos += int64(len(data))
		return len(data)
	}
	line, n, ok := p.readLine(data)
	p.pos += int64(n)
	if ok {
		p.onLine(trimEOL(line), p.pos-int64(len(line)), off, n, at)
	}
	return n
}

// readLine returns the next whole line (with its end) and how many bytes of
// data it used; ok is false when data ended first (the part is kept).
func (p *parser) readLine(data []byte) ([]byte, int, bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		if len(p.line)+len(data) > maxLineBytes {
			p.fail(ReasonMalformed)
			return nil, len(data), false
		}
		p.line = append(p.line, data...)
		return nil, len(data), false
	}
	line := data[:i+1]
	if len(p.line) > 0 {
		line = append(p.line, line...)
		p.line = p.line[:0]
	}
	return line, i + 1, true
}

// onLine handles one line (without its end) that began at stream position
// start; n is how many bytes of the data at offset off it used.
func (p *parser) onLine(line []byte, start int64, off, n int, at clock) {
	switch p.st {
	case stStart:
		if p.m == nil {
			if len(line) == 0 {
				return // blank lines between messages are allowed
			}
			p.m = p.msgs.next(start, at(off))
			p.block, p.lines = p.block[:0], 0
		}
		// A new message, or the final response after a 1xx.
		if !startLine(p.role, line, p.m) {
			if !p.seen {
				p.die(ReasonNotHTTP)
				return
			}
			p.fail(ReasonMalformed)
			return
		}
		p.seen = true
		p.hdr = len(line)
		p.st = stHeaders
	case stHeaders:
		if len(line) == 0 {
			p.headersDone(off+n, at)
			return
		}
		p.hdr += len(line)
		colon := headerName(line)
		if p.hdr > maxHeaderBytes || colon < 1 {
			p.fail(ReasonMalformed)
			return
		}
		p.m.framing.add(line[:colon], line[colon+1:], &p.lastHost)
		if !p.lean {
			p.block = append(append(p.block, line...), '\n')
			p.lines++
		}
	case stChunkSize:
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimRight(line, " \t")), 16, 64)
		if err != nil || size < 0 {
			p.fail(ReasonMalformed)
			return
		}
		p.left, p.st = size, stChunkData
		if size == 0 {
			p.st = stTrailers
		}
	case stChunkEnd:
		if len(line) != 0 {
			p.fail(ReasonMalformed)
			return
		}
		p.st = stChunkSize
	case stTrailers:
		if len(line) == 0 {
			p.finish(at(off + n - 1))
			return
		}
		if p.m.trailer == nil {
			p.m.trailer = http.Header{}
		}
		if !addHeader(p.m.trailer, line) {
			p.fail(ReasonMalformed)
		}
	}
}

// headersDone decides what follows a header block; next is the offset
// after it in the data being fed.
func (p *parser) headersDone(next int, at clock) {
	p.headers()
	m := p.m
	if p.role == roleResponse && m.paired == nil && m.interim == 0 {
		method, ok := p.h.pair(m, false)
		if !ok {
			p.st = stHold
			return
		}
		p.method = method
	}
	p.frame(at(next - 1))
}

// frame sets the body state of the current message, its headers read.
func (p *parser) frame(end time.Time) {
	m := p.m
	if p.role == roleResponse && m.status < 200 {
		if m.status == http.StatusSwitchingProtocols {
			m.end = end
			p.h.complete(m)
			p.die(ReasonUpgrade)
			return
		}
		m.interim++
		m.status, m.header, m.framing = 0, nil, framingFields{clen: -1}
		p.st = stStart
		return
	}
	f, n, reason := bodyFraming(p.role, m, p.method)
	if reason != "" {
		p.fail(reason)
		return
	}
	switch f {
	case frameNone:
		p.finish(end)
		if p.role == roleResponse && p.method == http.MethodConnect && m.status < 300 {
			p.die(ReasonUpgrade)
		}
	case frameLength:
		p.left, p.st = n, stBody
	case frameChunked:
		p.st = stChunkSize
	case frameClose:
		p.st = stClose
	}
}

// headers makes the header lines read so far the current message's header,
// once: a message that ends early keeps those it had.
func (p *parser) headers() {
	if p.m.header == nil && !p.lean {
		p.m.header = parseHeaderBlock(p.block, p.lines)
	}
	p.block, p.lines = p.block[:0], 0
}

// hold keeps a response's bytes until pair can answer, bounded by maxHold.
func (p *parser) hold(data []byte) {
	p.held = append(p.held, data...)
	method, ok := p.h.pair(p.m, len(p.held) > p.maxHold)
	if ok {
		p.release(method)
	}
}

// retry asks again for the pairing of a held response; force decides.
func (p *parser) retry(force bool) {
	if p.st != stHold {
		return
	}
	if method, ok := p.h.pair(p.m, force); ok {
		p.release(method)
	}
}

// release parses the held bytes of a response now paired. Their capture
// times are not kept: the response's start time stands in for them.
func (p *parser) release(method string) {
	t := p.m.time
	p.method = method
	held := p.held
	p.held = nil
	p.frame(t)
	p.feed(held, func(int) time.Time { return t })
}

// keep adds body bytes to the current message, up to maxBody.
func (p *parser) keep(b []byte) {
	m := p.m
	m.bodyLen += int64(len(b))
	if room := p.maxBody - len(m.body); room > 0 {
		m.body = append(m.body, b[:min(room, len(b))]...)
	}
	if m.bodyLen > int64(p.maxBody) {
		m.truncated = true
	}
}

func (p *parser) finish(end time.Time) {
	m := p.m
	m.end = end
	p.m, p.method, p.st = nil, "", stStart
	p.h.complete(m)
}

// fail drops the current message for reason and looks for the next one.
func (p *parser) fail(reason string) {
	from := p.pos
	if p.m != nil {
		from = p.m.start
		p.headers()
	}
	p.h.lost(p.m, from, p.pos, reason)
	p.m, p.method, p.line, p.held = nil, "", p.line[:0], nil
	p.st = stResync
}

func (p *parser) die(reason string) {
	p.st, p.m, p.held, p.line = stDead, nil, nil, nil
	p.h.dead(reason)
}

// gap reports n bytes lost before the next data fed.
func (p *parser) gap(n int64) {
	if p.st == stDead {
		p.pos += n
		return
	}
	from := p.pos
	if p.m != nil {
		from = p.m.start
		p.headers()
	}
	p.pos += n
	p.h.lost(p.m, from, p.pos, ReasonGap)
	p.m, p.method, p.line, p.held = nil, "", p.line[:0], nil
	p.st = stResync
}

// end reports the end of the stream (FIN, RST, flush or end of capture).
func (p *parser) end(last time.Time) {
	switch p.st {
	case stHold:
		p.retry(true)
		if p.st != stStart {
			p.end(last)
		}
	case stClose:
		p.finish(last)
	case stDead:
	default:
		if p.m != nil {
			p.headers()
			p.h.lost(p.m, p.m.start, p.pos, ReasonIncomplete)
		}
	}
	p.st, p.m, p.held = stDead, nil, nil
}
