package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"net/textproto"
	"slices"
)

// firstBodyBuffer is the most a body buffer starts with when the answer
// does not say how long its body is, or says so but has not sent it yet:
// a lying Content-Length costs no memory.
const firstBodyBuffer = 64 << 10

// errTrailerEOF is net/http's error for a trailer section cut short.
var errTrailerEOF = errors.New("http: unexpected EOF reading trailer")

// readBody reads the body that h frames from br, with the semantics of a
// body read by net/http: the first limit bytes are kept, the rest is read
// and dropped (truncated is then true); a body cut short is
// io.ErrUnexpectedEOF; a chunked body is followed by trailer fields, which
// are merged into h.trailer. An empty body is nil. On error, body holds what was read.
func readBody(br *bufio.Reader, h *head, limit int64) (body []byte, truncated bool, err error) {
	var n int64
	switch h.body {
	case bodyNone:
		return nil, false, nil
	case bodyLength:
		keep := min(h.length, limit)
		body = make([]byte, 0, min(keep, firstBodyBuffer))
		body, err = appendN(br, body, keep)
		if err == nil && h.length > keep {
			var dropped int
			dropped, err = br.Discard(int(h.length - keep))
			n = int64(dropped)
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
	case bodyChunked:
		cr := httputil.NewChunkedReader(br)
		var eof bool
		// What is already buffered is most often the whole body: one
		// buffer of about its size, not four grown to it.
		body = make([]byte, 0, min(limit, int64(max(512, br.Buffered()))))
		if body, eof, err = appendToEOF(cr, body, limit); err == nil && !eof {
			n, err = drain(cr)
		}
		if err == nil {
			err = readTrailer(br, h)
		}
	case bodyToClose:
		var eof bool
		if body, eof, err = appendToEOF(br, nil, limit); err == nil && !eof {
			n, err = drain(br)
		}
	}
	if len(body) == 0 {
		body = nil
	}
	return body, n > 0, err
}

// appendN appends exactly n bytes from r to body, growing it as they come.
func appendN(r io.Reader, body []byte, n int64) ([]byte, error) {
	for int64(len(body)) < n {
		if len(body) == cap(body) {
			body = slices.Grow(body, int(min(n-int64(len(body)), max(int64(cap(body)), 512))))
		}
		m, err := r.Read(body[len(body):min(cap(body), len(body)+int(n-int64(len(body))))])
		body = body[:len(body)+m]
		if err != nil {
			return body, err
		}
	}
	return body, nil
}

// appendToEOF appends what r gives to body until io.EOF (eof is then true)
// or until body holds limit bytes.
func appendToEOF(r io.Reader, body []byte, limit int64) (_ []byte, eof bool, err error) {
	for int64(len(body)) < limit {
		if len(body) == cap(body) {
			body = slices.Grow(body, int(min(limit-int64(len(body)), max(int64(cap(body)), 512))))
		}
		m, err := r.Read(body[len(body):min(cap(body), len(body)+int(limit-int64(len(body))))])
		body = body[:len(body)+m]
		if errors.Is(err, io.EOF) {
			return body, true, nil
		}
		if err != nil {
			return body, false, err
		}
	}
	return body, false, nil
}

// drain reads r to io.EOF and says how many bytes it dropped.
// It runs only for bodies over the cap, so its buffer is its own.
func drain(r io.Reader) (int64, error) {
	scratch := make([]byte, 32<<10)
	var n int64
	for {
		m, err := r.Read(scratch)
		n += int64(m)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// readTrailer reads the trailer section after a chunked body into
// h.trailer, the way net/http does: at most what br can buffer.
func readTrailer(br *bufio.Reader, h *head) error {
	buf, err := br.Peek(2)
	if bytes.Equal(buf, []byte("\r\n")) {
		_, err := br.Discard(2)
		return err
	}
	if len(buf) < 2 {
		return errTrailerEOF
	}
	if err != nil {
		return err
	}
	if !seeUpcomingDoubleCRLF(br) {
		return errors.New("http: suspiciously long trailer after chunked body")
	}
	fields, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errTrailerEOF
		}
		return err
	}
	if h.trailer == nil {
		h.trailer = make(map[string][]string, len(fields))
	}
	for k, v := range fields {
		h.trailer[k] = v
	}
	return nil
}

// seeUpcomingDoubleCRLF reports whether an empty line comes within what br
// can buffer.
func seeUpcomingDoubleCRLF(br *bufio.Reader) bool {
	for size := 4; ; size++ {
		buf, err := br.Peek(size)
		if bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
}
