package replay

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
)

// pcapng blocks read for their secrets. gopacket's NgReader reads
// Decryption Secrets Blocks but keeps them to itself (and passes over
// those after the first packet), so the bytes are watched on their way to
// it: block headers only, the secrets blocks whole.
const (
	ngSectionHeader     = 0x0a0d0d0a
	ngDecryptionSecrets = 0x0000000a
	ngByteOrderMagic    = 0x1a2b3c4d
	dsbTLSKeyLog        = 0x544c534b // "TLSK": NSS key log text
	maxSecretsBlock     = 16 << 20
)

// dsbScanner passes a pcapng file's bytes through unchanged, adding the
// TLS key logs of its Decryption Secrets Blocks to keys as they go by: a
// block's secrets are known before any packet after it is read.
type dsbScanner struct {
	r    io.Reader
	keys *KeyLog
	head []byte // the block header being read
	skip int64  // bytes left of a block passed over
	dsb  []byte // a secrets block being read whole
	left int    // bytes left of it
	bo   binary.ByteOrder
	off  bool // bytes are no pcapng any more: passed through unread
}

func (s *dsbScanner) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	b := p[:n]
	for len(b) > 0 && !s.off {
		switch {
		case s.skip > 0:
			k := min(s.skip, int64(len(b)))
			s.skip -= k
			b = b[k:]
		case s.left > 0:
			k := min(s.left, len(b))
			s.dsb = append(s.dsb, b[:k]...)
			s.left -= k
			b = b[k:]
			if s.left == 0 {
				s.secrets()
			}
		default:
			k := min(12-len(s.head), len(b))
			s.head = append(s.head, b[:k]...)
			b = b[k:]
			if len(s.head) == 12 {
				s.block()
			}
		}
	}
	return n, err
}

// block starts a block from its first 12 bytes: type, length and the
// first word of its body (a section header's byte-order magic).
func (s *dsbScanner) block() {
	h := s.head
	s.head = s.head[:0]
	if binary.LittleEndian.Uint32(h) == ngSectionHeader {
		switch {
		case binary.LittleEndian.Uint32(h[8:]) == ngByteOrderMagic:
			s.bo = binary.LittleEndian
		case binary.BigEndian.Uint32(h[8:]) == ngByteOrderMagic:
			s.bo = binary.BigEndian
		default:
			s.off = true
			return
		}
	}
	if s.bo == nil {
		s.off = true
		return
	}
	typ, length := s.bo.Uint32(h), int64(s.bo.Uint32(h[4:]))
	if length < 12 || length%4 != 0 {
		s.off = true // NgReader says what is wrong with it
		return
	}
	if typ == ngDecryptionSecrets && length <= maxSecretsBlock {
		s.dsb = append(s.dsb[:0], h[8:]...)
		s.left = int(length) - 12
		if s.left == 0 {
			s.secrets()
		}
		return
	}
	s.skip = length - 12
}

// secrets adds the key log a whole secrets block holds: its body is the
// secrets type, their length, then the secrets (and the block's trailer).
func (s *dsbScanner) secrets() {
	b := s.dsb
	s.dsb = s.dsb[:0]
	if len(b) < 8 || s.bo.Uint32(b) != dsbTLSKeyLog {
		return
	}
	n := int(s.bo.Uint32(b[4:]))
	if n > len(b)-8 {
		return
	}
	s.keys.parseLenient(b[8 : 8+n])
}

// parseLenient adds every well-formed line of a key log and passes over
// the rest: a capture's embedded secrets are used as far as they go.
func (k *KeyLog) parseLenient(b []byte) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		_ = k.addLine(sc.Bytes())
	}
}

// watchSecrets makes a pcapng input's Decryption Secrets Blocks add to
// keys as it is read. The bytes the input buffered already are read again
// first; its offsets stay exact, as they count the bytes below.
func (in *input) watchSecrets(keys *KeyLog) {
	buffered, _ := in.br.Peek(in.br.Buffered())
	again := bytes.NewReader(append([]byte(nil), buffered...))
	in.br = bufio.NewReaderSize(&dsbScanner{r: io.MultiReader(again, in.count), keys: keys}, bufSize)
	_, _ = in.br.Peek(1) // takes in what was buffered: the offsets are right from here
}

// withSecrets returns the key log a read decrypts with: cfg's, to which a
// pcapng's secrets blocks add, or one for those alone.
func (in *input) withSecrets(keys *KeyLog) *KeyLog {
	if in.fmt != formatPcapNG {
		return keys
	}
	if keys == nil {
		keys = NewKeyLog()
	}
	in.watchSecrets(keys)
	return keys
}
