package replay

import (
	"bytes"
)

// Reasons a request, or a stream, is not replayed. They are the keys of
// counts.skipped in the summary JSON.
const (
	ReasonGap          = "gap"            // bytes missing from the capture
	ReasonMalformed    = "malformed"      // not a valid HTTP/1.x message
	ReasonTECLConflict = "te_cl_conflict" // both Transfer-Encoding and Content-Length: smuggling-style
	ReasonIncomplete   = "incomplete"     // the capture ended inside the message
	ReasonBodyOverCap  = "body_over_cap"  // request body larger than the reader keeps
	ReasonUpgrade      = "upgrade"        // the connection switched protocols (101, CONNECT)
	ReasonTLS          = "encrypted"      // TLS on the port
	ReasonSSH          = "ssh"
	ReasonHTTP2        = "http2"
	ReasonNotHTTP      = "not_http" // some other protocol, or no message found
	ReasonUnsafe       = "unsafe"   // a method that changes state, without --unsafe
	ReasonFiltered     = "filtered" // left out by --filter
	ReasonLimit        = "limit"    // beyond --limit
	ReasonInterrupted  = "interrupted"
)

// sniff names the protocol a stream's first bytes belong to when it is one
// that must not be parsed as HTTP/1.x, else "".
func sniff(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04:
		return ReasonTLS // a TLS handshake record
	case bytes.HasPrefix(b, []byte("SSH-")):
		return ReasonSSH
	case bytes.HasPrefix(b, []byte("PRI ")):
		return ReasonHTTP2 // the HTTP/2 preface: PRI is no HTTP/1.x method
	}
	return ""
}

// resync skips bytes up to the next line that is a valid start line, then
// starts that message. Only whole lines are tried, and a line split across
// feeds is kept (bounded), so a start line is found wherever TCP cut it.
func (p *parser) resync(data []byte, off int, at clock) int {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		p.line = append(p.line, data...)
		if len(p.line) > maxLineBytes {
			p.line = append(p.line[:0], p.line[len(p.line)-maxLineBytes:]...)
		}
		return len(data)
	}
	line := data[:i+1]
	if len(p.line) > 0 {
		line = append(p.line, line...)
		p.line = p.line[:0]
	}
	var sl message // most lines are not start lines: no message for them
	if startLine(p.role, trimEOL(line), &sl) {
		m := p.msgs.next(p.pos+int64(i+1)-int64(len(line)), at(off))
		m.method, m.uri, m.proto, m.status = sl.method, sl.uri, sl.proto, sl.status
		p.m, p.seen, p.hdr, p.st = m, true, len(line), stHeaders
		p.block, p.lines = p.block[:0], 0
	}
	return i + 1
}
