package replay

import (
	"bytes"
	"net/http"
	"strings"
	"time"
)

// Limits of one message, as NGINX's defaults are of the same order: a
// header block over maxHeaderBytes is not a request anyone served.
const (
	maxLineBytes   = 16 << 10
	maxHeaderBytes = 64 << 10
)

// message is one HTTP/1.x message as the parser assembles it.
type message struct {
	start int64     // stream position of its first byte
	time  time.Time // capture time of its first byte
	end   time.Time // capture time of its last byte

	// Requests.
	method, uri string
	ack         uint32 // server bytes the client had acknowledged when it sent the request
	ackOK       bool
	// Responses.
	status  int
	interim int    // 1xx answers seen before the final one
	paired  *entry // the request this response answers

	proto     string
	header    http.Header // nil when reading keeps no headers (ReadConfig.FramingHeadersOnly)
	framing   framingFields
	trailer   http.Header
	body      []byte
	bodyLen   int64
	truncated bool // body over the cap: only its first bytes are kept
}

func newMessage(start int64, t time.Time) *message {
	return &message{start: start, time: t, framing: framingFields{clen: -1}}
}

// messages hands out messages: those given back once their record was
// made, else carved from slabs (one allocation, and one clearing, for many
// messages; a slab lives as long as any of its messages). Reusing them
// keeps the memory a reader writes small and in cache.
type messages struct {
	slab []message
	free []*message
}

func (ms *messages) next(start int64, t time.Time) *message {
	if ms == nil {
		return newMessage(start, t)
	}
	var m *message
	if n := len(ms.free); n > 0 {
		m, ms.free = ms.free[n-1], ms.free[:n-1]
	} else {
		if len(ms.slab) == 0 {
			ms.slab = make([]message, 64)
		}
		m, ms.slab = &ms.slab[0], ms.slab[1:]
	}
	m.start, m.time, m.framing.clen = start, t, -1
	return m
}

// put takes back a message nothing refers to any more.
func (ms *messages) put(m *message) {
	if m != nil && len(ms.free) < maxFree {
		*m = message{}
		ms.free = append(ms.free, m)
	}
}

// maxFree bounds the messages and entries kept for reuse.
const maxFree = 1024

// framingFields are the header values that delimit a message and name its
// host, taken as the header lines are checked, whatever else is kept.
type framingFields struct {
	host    string // the first Host value
	hasHost bool
	te      string // Transfer-Encoding values, joined by ","
	hasTE   bool
	clen    int64 // the Content-Length, -1 when absent
	clBad   bool  // a Content-Length that is not a number, or two that differ
	h2c     bool  // Upgrade: h2c (a request that asks for HTTP/2 in the clear)
}

// add notes one header field if it is one of the framing ones;
// lastHost is the previous Host value, reused when the next is the same
// (it nearly always is on a connection): one allocation saved a request.
func (f *framingFields) add(name, value []byte, lastHost *string) {
	switch len(name) {
	case 4:
		if !f.hasHost && (string(name) == "Host" || bytes.EqualFold(name, []byte("Host"))) {
			v := trimOWS(value)
			if string(v) != *lastHost {
				*lastHost = string(v)
			}
			f.host, f.hasHost = *lastHost, true
		}
	case 7:
		f.h2c = f.h2c || bytes.EqualFold(name, []byte("Upgrade")) && bytes.EqualFold(trimOWS(value), []byte("h2c"))
	case 14:
		if string(name) == "Content-Length" || bytes.EqualFold(name, []byte("Content-Length")) {
			f.addLength(trimOWS(value))
		}
	case 17:
		if string(name) == "Transfer-Encoding" || bytes.EqualFold(name, []byte("Transfer-Encoding")) {
			if f.hasTE {
				f.te += ","
			}
			f.te += string(trimOWS(value))
			f.hasTE = true
		}
	}
}

// addLength takes one Content-Length line: a list of equal decimal
// numbers, as RFC 9110 tolerates, and nothing else.
func (f *framingFields) addLength(v []byte) {
	for {
		item, rest, more := bytes.Cut(v, []byte(","))
		n, ok := parseDecimal(trimOWS(item))
		if !ok || (f.clen >= 0 && n != f.clen) {
			f.clBad = true
			return
		}
		f.clen = n
		if !more {
			return
		}
		v = rest
	}
}

// parseDecimal parses a non-empty run of digits (no sign) that fits in 62 bits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// trimOWS trims spaces and tabs at both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// framing is how a message's body is delimited.
type framing uint8

const (
	frameNone framing = iota
	frameLength
	frameChunked
	frameClose
)

// startLine reports whether line (without its line end) is a start line of
// role r and fills m from it. It is strict on purpose: resync relies on it
// to tell a message start from body bytes.
func startLine(r role, line []byte, m *message) bool {
	if r == roleRequest {
		sp1 := bytes.IndexByte(line, ' ')
		if sp1 < 1 || sp1 > 20 || !isToken(line[:sp1]) {
			return false
		}
		rest := line[sp1+1:]
		sp2 := bytes.LastIndexByte(rest, ' ')
		if sp2 < 1 || bytes.IndexByte(rest[:sp2], ' ') >= 0 || !isVersion(rest[sp2+1:]) {
			return false
		}
		for _, c := range rest[:sp2] {
			if c <= ' ' || c == 0x7f {
				return false
			}
		}
		m.method, m.uri, m.proto = methodString(line[:sp1]), string(rest[:sp2]), protoString(rest[sp2+1:])
		return true
	}
	if len(line) < 12 || !isVersion(line[:8]) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return false
	}
	code := line[9:12]
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	m.proto = protoString(line[:8])
	m.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	return m.status >= 100
}

// methodString is string(b) without allocating for the common methods.
func methodString(b []byte) string {
	switch string(b) {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodPatch:
		return http.MethodPatch
	}
	return string(b)
}

// protoString is string(b) for a version isVersion accepted.
func protoString(b []byte) string {
	if b[7] == '1' {
		return "HTTP/1.1"
	}
	return "HTTP/1.0"
}

func isVersion(b []byte) bool {
	return len(b) == 8 && string(b[:7]) == "HTTP/1." && (b[7] == '0' || b[7] == '1')
}

// tokenLo and tokenHi are the RFC 9110 token characters (tchar: "!" / "#" /
// "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
// "~" / DIGIT / ALPHA) as bit masks of the bytes below 64 and 64–127.
const (
	tokenLo uint64 = 1<<'!' | 1<<'#' | 1<<'$' | 1<<'%' | 1<<'&' | 1<<'\'' | 1<<'*' | 1<<'+' | 1<<'-' | 1<<'.' |
		0x3ff<<'0'
	tokenHi uint64 = 0x3ffffff<<('A'-64) | 0x3ffffff<<('a'-64) |
		1<<('^'-64) | 1<<('_'-64) | 1<<('`'-64) | 1<<('|'-64) | 1<<('~'-64)
)

func isTokenChar(c byte) bool {
	if c < 64 {
		return tokenLo>>c&1 != 0
	}
	return c < 128 && tokenHi>>(c-64)&1 != 0
}

// tokenTable is isTokenChar for every byte, looked up once per byte on the
// hot path of parsing header names.
var tokenTable = func() (t [256]bool) {
	for c := range t {
		t[c] = isTokenChar(byte(c))
	}
	return t
}()

// isToken reports whether b is an RFC 9110 token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenTable[c] {
			return false
		}
	}
	return true
}

// headerName returns the length of the field name of a header line, or -1
// when the line does not start with a token and a colon. Whitespace before
// the colon and obsolete line folding are so rejected, as RFC 9112 asks of
// servers, because both are classic request-smuggling vectors.
func headerName(line []byte) int {
	for i, c := range line {
		if !tokenTable[c] {
			if c == ':' && i > 0 {
				return i
			}
			return -1
		}
	}
	return -1
}

// headerLine reports whether line is a valid header field line.
func headerLine(line []byte) bool { return headerName(line) > 0 }

// addHeader parses one header line into h (trailers).
func addHeader(h http.Header, line []byte) bool {
	if !headerLine(line) {
		return false
	}
	colon := bytes.IndexByte(line, ':')
	name := http.CanonicalHeaderKey(string(line[:colon]))
	h[name] = append(h[name], string(bytes.Trim(line[colon+1:], " \t")))
	return true
}

// parseHeaderBlock makes n checked header lines, each ended by '\n', into
// a header: one string holds every name and value and one slice every
// first value, so a message's header costs a few allocations, not a few
// per line. Names already canonical (what clients send) are not copied.
func parseHeaderBlock(block []byte, n int) http.Header {
	h := make(http.Header, n)
	if n == 0 {
		return h
	}
	s := string(block)
	vals := make([]string, n)
	i := 0
	for len(s) > 0 {
		eol := strings.IndexByte(s, '\n')
		line := s[:eol]
		s = s[eol+1:]
		colon := strings.IndexByte(line, ':')
		name := http.CanonicalHeaderKey(line[:colon])
		v := strings.Trim(line[colon+1:], " \t")
		if old, ok := h[name]; ok {
			h[name] = append(old, v)
			continue
		}
		vals[i] = v
		h[name] = vals[i : i+1 : i+1]
		i++
	}
	return h
}

// trimEOL removes a trailing LF or CRLF.
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// bodyFraming decides how the body of m is delimited (RFC 9112 section 6.3),
// or returns a skip reason when the lengths cannot be trusted. method is
// the request's method for a response ("" when unknown).
func bodyFraming(r role, m *message, method string) (framing, int64, string) {
	if r == roleResponse {
		if m.status < 200 || m.status == 204 || m.status == 304 || method == http.MethodHead {
			return frameNone, 0, ""
		}
		if method == http.MethodConnect && m.status < 300 {
			return frameNone, 0, ""
		}
	}
	f := &m.framing
	if f.hasTE {
		if f.clen >= 0 || f.clBad {
			return 0, 0, ReasonTECLConflict
		}
		codings := f.te
		if i := strings.LastIndexByte(codings, ','); i >= 0 {
			codings = codings[i+1:]
		}
		if !strings.EqualFold(strings.TrimSpace(codings), "chunked") {
			if r == roleResponse {
				return frameClose, 0, ""
			}
			return 0, 0, ReasonMalformed
		}
		return frameChunked, 0, ""
	}
	if f.clBad {
		return 0, 0, ReasonMalformed
	}
	if f.clen == 0 {
		return frameNone, 0, ""
	}
	if f.clen > 0 {
		return frameLength, f.clen, ""
	}
	if r == roleResponse {
		return frameClose, 0, ""
	}
	return frameNone, 0, ""
}
