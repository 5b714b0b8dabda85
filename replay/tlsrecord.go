package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// TLS record content types.
const (
	recordCCS       = 20
	recordAlert     = 21
	recordHandshake = 22
	recordData      = 23
)

// Handshake message types read.
const (
	hsClientHello = 1
	hsServerHello = 2
	hsKeyUpdate   = 24
)

// maxRecord is the largest record fragment RFC 8446 allows (2^14 plus
// expansion); a longer length means the bytes are not TLS records.
const maxRecord = 1<<14 + 2048

// helloRetry is the ServerHello random that marks a HelloRetryRequest
// (RFC 8446 section 4.1.3).
var helloRetry = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

var errHello = errors.New("malformed hello")

// splitRecord returns the first whole record of b (header included) and
// its length; n is 0 when b holds no whole record yet, and -1 when b does
// not start with a record header.
func splitRecord(b []byte) (rec []byte, n int) {
	if len(b) < 5 {
		return nil, 0
	}
	if b[0] < recordCCS || b[0] > recordData || b[1] != 3 {
		return nil, -1
	}
	l := int(binary.BigEndian.Uint16(b[3:5]))
	if l > maxRecord {
		return nil, -1
	}
	if len(b) < 5+l {
		return nil, 0
	}
	return b[:5+l], 5 + l
}

// splitHandshake returns the first whole handshake message of b, its type
// and body; n is 0 when b holds no whole message yet.
func splitHandshake(b []byte) (typ byte, body []byte, n int) {
	if len(b) < 4 {
		return 0, nil, 0
	}
	l := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if len(b) < 4+l {
		return 0, nil, 0
	}
	return b[0], b[4 : 4+l], 4 + l
}

// hello is what a ClientHello or ServerHello says that decryption needs.
type hello struct {
	random  [32]byte
	version uint16 // negotiated (ServerHello): supported_versions wins over the legacy field
	suite   uint16 // ServerHello
	alpn    string // ServerHello of TLS 1.2 (TLS 1.3 sends it encrypted)
}

// parseHello reads a ClientHello or ServerHello body.
func parseHello(typ byte, b []byte) (hello, error) {
	var h hello
	r := reader(b)
	v, ok := r.u16()
	if !ok || !r.bytes(h.random[:]) {
		return h, errHello
	}
	h.version = v
	if _, ok := r.vec8(); !ok { // session id
		return h, errHello
	}
	if typ == hsClientHello {
		if _, ok := r.vec16(); !ok { // cipher suites
			return h, errHello
		}
		if _, ok := r.vec8(); !ok { // compression methods
			return h, errHello
		}
	} else {
		if h.suite, ok = r.u16(); !ok {
			return h, errHello
		}
		if _, ok := r.u8(); !ok { // compression method
			return h, errHello
		}
	}
	if len(r) == 0 {
		return h, nil // no extensions
	}
	exts, ok := r.vec16()
	if !ok {
		return h, errHello
	}
	for len(exts) > 0 {
		t, ok1 := exts.u16()
		data, ok2 := exts.vec16()
		if !ok1 || !ok2 {
			return h, errHello
		}
		switch {
		case t == 43 && typ == hsServerHello: // supported_versions: the one chosen
			if sv, ok := data.u16(); ok {
				h.version = sv
			}
		case t == 16 && typ == hsServerHello: // ALPN: one protocol
			if list, ok := data.vec16(); ok {
				if p, ok := list.vec8(); ok {
					h.alpn = string(p)
				}
			}
		}
	}
	return h, nil
}

// reader reads TLS's big-endian fields and length-prefixed vectors.
type reader []byte

func (r *reader) u8() (byte, bool) {
	if len(*r) < 1 {
		return 0, false
	}
	v := (*r)[0]
	*r = (*r)[1:]
	return v, true
}

func (r *reader) u16() (uint16, bool) {
	if len(*r) < 2 {
		return 0, false
	}
	v := binary.BigEndian.Uint16(*r)
	*r = (*r)[2:]
	return v, true
}

func (r *reader) bytes(dst []byte) bool {
	if len(*r) < len(dst) {
		return false
	}
	copy(dst, *r)
	*r = (*r)[len(dst):]
	return true
}

func (r *reader) vec8() (reader, bool) {
	n, ok := r.u8()
	if !ok || len(*r) < int(n) {
		return nil, false
	}
	v := (*r)[:n]
	*r = (*r)[n:]
	return v, true
}

func (r *reader) vec16() (reader, bool) {
	n, ok := r.u16()
	if !ok || len(*r) < int(n) {
		return nil, false
	}
	v := (*r)[:n]
	*r = (*r)[n:]
	return v, true
}

// innerPlaintext splits a TLS 1.3 record's decrypted bytes into content
// and content type: zero padding is stripped from the end, and the last
// non-zero byte is the type.
func innerPlaintext(b []byte) ([]byte, byte, bool) {
	i := len(b) - 1
	for i >= 0 && b[i] == 0 {
		i--
	}
	if i < 0 {
		return nil, 0, false
	}
	return b[:i], b[i], true
}

// looksLikeClientHello reports whether a stream's first bytes are a TLS
// handshake record: where decryption starts.
func looksLikeClientHello(b []byte) bool {
	return len(b) >= 6 && b[0] == recordHandshake && b[1] == 3 && b[5] == hsClientHello
}

// h2Preface is what an HTTP/2 client sends first (RFC 9113 section 3.4).
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// looksLikeH2 reports whether a client's first bytes are the HTTP/2 preface
// (enough of it to tell: TCP may have cut it).
func looksLikeH2(b []byte) bool {
	n := min(len(b), len(h2Preface))
	return n >= 4 && bytes.Equal(b[:n], h2Preface[:n])
}
