package replay

import (
	"bytes"
	"net/http"
	"strconv"
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
	header    http.Header
	trailer   http.Header
	body      []byte
	bodyLen   int64
	truncated bool // body over the cap: only its first bytes are kept
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
		m.method, m.uri, m.proto = string(line[:sp1]), string(rest[:sp2]), string(rest[sp2+1:])
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
	m.proto = string(line[:8])
	m.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	return m.status >= 100
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

// isToken reports whether b is an RFC 9110 token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

// headerLine reports whether line is a valid header field line. Whitespace
// before the colon and obsolete line folding are rejected, as RFC 9112 asks
// of servers, because both are classic request-smuggling vectors.
func headerLine(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	return colon >= 1 && isToken(line[:colon])
}

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

// framingHeaders is parseHeaderBlock keeping only what reading itself
// needs: Host, Content-Length and Transfer-Encoding.
func framingHeaders(block []byte) http.Header {
	h := make(http.Header, 3)
	for len(block) > 0 {
		eol := bytes.IndexByte(block, '\n')
		line := block[:eol]
		block = block[eol+1:]
		colon := bytes.IndexByte(line, ':')
		var name string
		switch n := line[:colon]; {
		case len(n) == 4 && bytes.EqualFold(n, []byte("Host")):
			name = "Host"
		case len(n) == 14 && bytes.EqualFold(n, []byte("Content-Length")):
			name = "Content-Length"
		case len(n) == 17 && bytes.EqualFold(n, []byte("Transfer-Encoding")):
			name = "Transfer-Encoding"
		default:
			continue
		}
		h[name] = append(h[name], string(bytes.Trim(line[colon+1:], " \t")))
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
	te, hasTE := m.header["Transfer-Encoding"]
	cl, hasCL := m.header["Content-Length"]
	if hasTE {
		if hasCL {
			return 0, 0, ReasonTECLConflict
		}
		codings := strings.Split(strings.Join(te, ","), ",")
		if !strings.EqualFold(strings.TrimSpace(codings[len(codings)-1]), "chunked") {
			if r == roleResponse {
				return frameClose, 0, ""
			}
			return 0, 0, ReasonMalformed
		}
		return frameChunked, 0, ""
	}
	if hasCL {
		var n int64 = -1
		for _, v := range strings.Split(strings.Join(cl, ","), ",") {
			v = strings.TrimSpace(v)
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 || v[0] == '+' || (n >= 0 && x != n) {
				return 0, 0, ReasonMalformed
			}
			n = x
		}
		if n == 0 {
			return frameNone, 0, ""
		}
		return frameLength, n, ""
	}
	if r == roleResponse {
		return frameClose, 0, ""
	}
	return frameNone, 0, ""
}
