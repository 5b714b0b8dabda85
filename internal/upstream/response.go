package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// The plain sender reads answers with its own HTTP/1.x reader instead of
// http.ReadResponse: the status line and header fields are read into one
// reused buffer and turned into one string, keys and values are cut out of
// it, and a key already in canonical form costs no allocation. Its result
// is what http.ReadResponse gives for the same bytes (the same header map,
// after the same removals: Transfer-Encoding, Content-Length under chunked,
// Connection: close, Trailer; the same framing and errors in the same
// cases), with one deliberate difference: a status code under 100, which
// http.ReadResponse takes as an interim answer, is malformed here.
// FuzzReadHead checks this against http.ReadResponse.

// maxHeadBytes caps the status line and header fields of one answer, as
// net/http's Transport does by default.
const maxHeadBytes = 10 << 20

// framing says how the body of an answer ends.
type framing uint8

const (
	bodyNone    framing = iota // no body at all
	bodyLength                 // Content-Length bytes
	bodyChunked                // chunked transfer coding, then trailer fields
	bodyToClose                // everything until the target closes
)

// head is the start of one answer: status line and header fields, with
// the framing of the body that follows decided.
type head struct {
	status int
	proto  string
	header http.Header
	// trailer holds the trailer fields the Trailer header announced, with
	// nil values; nil when none were announced on a chunked body.
	trailer http.Header
	body    framing
	length  int64 // with bodyLength
	// close says the connection carries no further answer.
	close bool
}

// errHeadTooLong: the status line and header fields exceed maxHeadBytes.
var errHeadTooLong = errors.New("response headers exceed 10 MiB")

// readHead reads the status line and header fields of one answer to a
// request with method from br. buf is scratch space, returned (perhaps
// grown) for the next call. A read error is returned as it came, io.EOF
// turned into io.ErrUnexpectedEOF; a malformed answer gives an error that
// quotes the offending line as soon as that line is read.
func readHead(br *bufio.Reader, buf []byte, method string) (head, []byte, error) {
	var h head
	buf, err := readLine(br, buf[:0])
	if err != nil {
		return h, buf, err
	}
	if err := h.parseStatusLine(trimEOL(buf)); err != nil {
		return head{}, buf, err
	}
	if buf, err = readFields(br, buf[:0]); err != nil {
		return head{}, buf, err
	}
	h.header = parseFields(string(buf))
	// RFC 9111 section 5.4: Pragma: no-cache stands for Cache-Control.
	if hp := h.header["Pragma"]; len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := h.header["Cache-Control"]; !ok {
			h.header["Cache-Control"] = []string{"no-cache"}
		}
	}
	if err := h.frame(method); err != nil {
		return head{}, buf, err
	}
	return h, buf, nil
}

// readLine appends one line from br, with its line ending, to buf.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > maxHeadBytes {
			return buf, errHeadTooLong
		}
		buf = append(buf, frag...)
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			// the line goes on
		case errors.Is(err, io.EOF):
			return buf, io.ErrUnexpectedEOF
		default:
			return buf, err
		}
	}
}

// trimEOL drops the line ending (LF or CRLF) of a line.
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n > 1 && line[n-2] == '\r' {
			line = line[:n-2]
		}
	}
	return line
}

// readFields appends header field lines from br to buf, up to and
// including the empty line that ends them, checking each line as
// textproto.Reader.ReadMIMEHeader does: the first may not start with a
// space or a tab, a line that does continues the one before (obsolete
// line folding), any other needs a colon after a non-empty key of token
// bytes (or spaces), and values hold no control bytes but tabs.
func readFields(br *bufio.Reader, buf []byte) ([]byte, error) {
	for first := true; ; first = false {
		start := len(buf)
		var err error
		if buf, err = readLine(br, buf); err != nil {
			return buf, err
		}
		line := trimEOL(buf[start:])
		switch {
		case len(line) == 0:
			return buf, nil
		case line[0] == ' ' || line[0] == '\t':
			if first {
				return buf, fmt.Errorf("malformed MIME header initial line: %q", line)
			}
			if !validValue(line) {
				return buf, fmt.Errorf("malformed MIME header line: %q", line)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return buf, fmt.Errorf("malformed MIME header: missing colon: %q", line)
		}
		if !validKey(line[:colon]) || !validValue(line[colon+1:]) {
			return buf, fmt.Errorf("malformed MIME header line: %q", line)
		}
	}
}

// parseStatusLine reads "HTTP/x.y SP 3DIGIT [SP reason]"; spaces after the
// version are skipped, the reason is not kept.
func (h *head) parseStatusLine(line []byte) error {
	proto, status, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return fmt.Errorf("malformed HTTP response %q", line)
	}
	status = bytes.TrimLeft(status, " ")
	code, _, _ := bytes.Cut(status, []byte(" "))
	if len(code) != 3 || !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) || code[0] == '0' {
		return fmt.Errorf("malformed HTTP status code %q", code)
	}
	h.status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	switch string(proto) {
	case "HTTP/1.1":
		h.proto = "HTTP/1.1"
	case "HTTP/1.0":
		h.proto = "HTTP/1.0"
	default:
		h.proto = string(proto)
		if _, _, ok := http.ParseHTTPVersion(h.proto); !ok {
			return fmt.Errorf("malformed HTTP version %q", proto)
		}
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseFields turns the header field lines that readFields read and
// checked into a header, as textproto.Reader.ReadMIMEHeader does: folded
// lines are joined by one space, keys made canonical unless they hold a
// space, values lose the spaces and tabs around them. Keys in canonical
// form and values are cut out of s without copying.
func parseFields(s string) http.Header {
	lines := strings.Count(s, "\n") // one more than the fields at most
	header := make(http.Header, lines-1)
	values := make([]string, lines-1) // cut into one-value slices
	for {
		var line string
		line, s = cutLine(s)
		if line == "" {
			return header
		}
		kv := trimOWS(line)
		if len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
			kv, s = joinContinued(kv, s)
		}
		k, v, _ := strings.Cut(kv, ":")
		key := canonicalKey(k)
		value := v
		for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
			value = value[1:] // strings.TrimLeft builds a set each call
		}
		if vv, seen := header[key]; seen {
			header[key] = append(vv, value)
			continue
		}
		vv := values[:1:1]
		values = values[1:]
		vv[0] = value
		header[key] = vv
	}
}

// cutLine splits s after its first line, returning the line without its
// line ending.
func cutLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	line, rest = s[:i], s[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// joinContinued appends to kv the continuation lines at the start of s
// (obsolete line folding), each trimmed and joined by one space.
func joinContinued(kv, s string) (string, string) {
	b := []byte(kv)
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		var line string
		line, s = cutLine(s)
		b = append(b, ' ')
		b = append(b, trimOWS(line)...)
	}
	return string(b), s
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// canonicalKey returns the canonical form of a valid header key (see
// validKey), without allocating when k already has it. A key with a space
// is kept as it is, as textproto does.
func canonicalKey(k string) string {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == ' ':
			return k
		case upper && 'a' <= c && c <= 'z', !upper && 'A' <= c && c <= 'Z':
			return textproto.CanonicalMIMEHeaderKey(k)
		}
		upper = c == '-'
	}
	return k
}

// validKey reports whether k is a header key textproto accepts: not
// empty, of token bytes (RFC 9110 tchar) or spaces.
func validKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if c != ' ' && !isTokenByte(c) {
			return false
		}
	}
	return true
}

// isTokenByte reports whether c may appear in a header key.
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validValue reports whether v holds only bytes allowed in a field value:
// anything but control bytes other than the tab.
func validValue(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// frame decides how the body ends and whether the connection does, the way
// net/http's readTransfer does for a response, with the same changes to
// the header map.
func (h *head) frame(method string) error {
	major, minor, _ := http.ParseHTTPVersion(h.proto)
	h.close = closes(major, minor, h.header)
	if major == 0 && minor == 0 {
		major, minor = 1, 1
	}

	chunked := false
	if te, ok := h.header["Transfer-Encoding"]; ok {
		delete(h.header, "Transfer-Encoding")
		if major > 1 || major == 1 && minor >= 1 {
			if len(te) != 1 {
				return fmt.Errorf("too many transfer encodings: %q", te)
			}
			if !equalFoldASCII(te[0], "chunked") {
				return fmt.Errorf("unsupported transfer encoding: %q", te[0])
			}
			chunked = true
		}
	}

	length, err := contentLength(h.header)
	if err != nil {
		return err
	}
	bodyAllowed := !(h.status/100 == 1 || h.status == 204 || h.status == 304)
	switch {
	case method == "HEAD" || !bodyAllowed:
		h.body = bodyNone
	case chunked:
		delete(h.header, "Content-Length")
		h.body = bodyChunked
	case length > 0:
		h.body, h.length = bodyLength, length
	case length == 0:
		h.body = bodyNone
	default: // no length: the body runs to the close of the connection
		h.body, h.close = bodyToClose, true
	}

	if declared, ok := h.header["Trailer"]; ok && chunked {
		delete(h.header, "Trailer")
		if h.trailer, err = declaredTrailer(declared); err != nil {
			return err
		}
	}
	return nil
}

// closes reports whether the connection ends after this answer; on
// HTTP/1.1 and later a Connection: close header is removed, as net/http does.
func closes(major, minor int, header http.Header) bool {
	if major < 1 {
		return true
	}
	conn := header["Connection"]
	hasClose := containsToken(conn, "close")
	if major == 1 && minor == 0 {
		return hasClose || !containsToken(conn, "keep-alive")
	}
	if hasClose {
		delete(header, "Connection")
	}
	return hasClose
}

// containsToken reports whether one of the comma-separated elements of
// values is token, ASCII case-insensitively.
func containsToken(values []string, token string) bool {
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			if equalFoldASCII(trimOWS(e), token) {
				return true
			}
		}
	}
	return false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// contentLength returns the Content-Length, -1 when there is none. Several
// equal values become one; several different ones, an empty or a
// non-numeric one are an error.
func contentLength(header http.Header) (int64, error) {
	cls := header["Content-Length"]
	if len(cls) == 0 {
		return -1, nil
	}
	first := textproto.TrimString(cls[0])
	if len(cls) > 1 {
		for _, v := range cls[1:] {
			if textproto.TrimString(v) != first {
				return 0, fmt.Errorf("http: message cannot contain multiple Content-Length headers; got %q", cls)
			}
		}
		header["Content-Length"] = []string{first}
	}
	if first == "" {
		return 0, errors.New("invalid empty Content-Length")
	}
	n, err := strconv.ParseUint(first, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("bad Content-Length %q", first)
	}
	return int64(n), nil
}

// declaredTrailer turns the Trailer header's values into a header with the
// announced keys and nil values; nil when it names none.
func declaredTrailer(declared []string) (http.Header, error) {
	trailer := http.Header{}
	for _, v := range declared {
		for e := range strings.SplitSeq(v, ",") {
			if e = textproto.TrimString(e); e == "" {
				continue
			}
			key := http.CanonicalHeaderKey(e)
			switch key {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, fmt.Errorf("bad trailer key %q", key)
			}
			trailer[key] = nil
		}
	}
	if len(trailer) == 0 {
		return nil, nil
	}
	return trailer, nil
}
