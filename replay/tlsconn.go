package replay

import (
	"time"
)

// Reasons a TLS connection with a key log is not read.
const (
	ReasonTLSNoKey       = "tls_no_key"         // the key log has no secrets for the session
	ReasonTLSUnsupported = "tls_unsupported"    // a TLS version or cipher suite not decrypted (CBC, TLS 1.0/1.1, ...)
	ReasonTLSDecrypt     = "tls_decrypt_failed" // a record did not authenticate under the session's keys
)

// Roles in a layer: index 0 is the client's direction, 1 the server's.
const (
	roleClient = 0
	roleServer = 1
)

// maxHandshake bounds the plaintext handshake bytes kept per direction
// while looking for the hellos (a ClientHello is a few KiB at most).
const maxHandshake = 64 << 10

// plainSink receives a direction's decrypted application data: from and to
// are the TCP stream positions of the record that carried it, at the
// capture time of its last byte.
type plainSink func(role int, data []byte, from, to int64, at time.Time)

// tlsSession decrypts both directions of one TLS connection with the
// secrets a key log holds for it. It runs on its connection's goroutine.
type tlsSession struct {
	keys  *KeyLog
	sink  plainSink
	dirs  [2]tlsDir
	fail  string // why the session cannot be read (a Reason), once known
	ch    *hello // the ClientHello
	sh    *hello // the ServerHello (not a HelloRetryRequest)
	suite suite
	keyed bool // keys looked up (and derived, when fail is "")
}

// tlsDir is one direction: bytes of a record split across segments, the
// handshake bytes read in the clear, and the keys its records are under.
type tlsDir struct {
	pos     int64 // TCP stream position of the next byte fed
	part    []byte
	hs      []byte
	hsDone  bool
	ccs     bool // TLS 1.2: ChangeCipherSpec sent, what follows is encrypted
	keys    []*recordKey
	secrets [][]byte // TLS 1.3: the traffic secret of each key, for KeyUpdate
	cur     int
	scratch []byte
	noHS    bool // TLS 1.3 without handshake secrets in the key log
	opened  bool // a record was decrypted
}

func newTLSSession(keys *KeyLog, sink plainSink) *tlsSession {
	return &tlsSession{keys: keys, sink: sink}
}

// feed takes the next bytes of a direction; at gives the capture time of
// the byte at an offset of data. It returns false once the session cannot
// be read any more (fail says why).
func (s *tlsSession) feed(role int, data []byte, at clock) bool {
	d := &s.dirs[role]
	if len(d.part) > 0 {
		// Rare (a record cut by a segment boundary): joined in a copy.
		buf := append(d.part, data...)
		d.part = nil
		base := len(buf) - len(data)
		return s.records(role, buf, func(off int) time.Time { return at(max(off-base, 0)) })
	}
	return s.records(role, data, at)
}

func (s *tlsSession) records(role int, b []byte, at clock) bool {
	d := &s.dirs[role]
	off := 0
	for s.fail == "" {
		rec, n := splitRecord(b[off:])
		if n < 0 {
			s.fail = ReasonMalformed
			break
		}
		if n == 0 {
			d.part = append(d.part[:0], b[off:]...)
			break
		}
		from := d.pos
		d.pos += int64(n)
		s.record(role, rec, from, d.pos, at(off+n-1))
		off += n
	}
	return s.fail == ""
}

// record handles one whole record of a direction.
func (s *tlsSession) record(role int, rec []byte, from, to int64, t time.Time) {
	d := &s.dirs[role]
	typ, frag := rec[0], rec[5:]
	encrypted := typ == recordData || (d.ccs && s.tls12())
	if !encrypted {
		switch typ {
		case recordHandshake:
			s.handshake(role, frag)
		case recordCCS:
			if s.tls12() {
				d.ccs = true
			}
		}
		return
	}
	if !s.keyed {
		s.deriveKeys()
		if s.fail != "" {
			return
		}
	}
	plain, ok := s.open(d, rec)
	if !ok {
		if d.noHS && !d.opened {
			return // the encrypted handshake, without its secrets: not needed
		}
		s.fail = ReasonTLSDecrypt
		return
	}
	d.opened = true
	inner := typ
	if s.tls13() {
		if plain, inner, ok = innerPlaintext(plain); !ok {
			s.fail = ReasonTLSDecrypt
			return
		}
	}
	switch inner {
	case recordData:
		s.sink(role, plain, from, to, t)
	case recordHandshake:
		if s.tls13() {
			s.keyUpdate(d, plain)
		}
	}
}

// open decrypts a record under the direction's current key, or else under
// the next one (TLS 1.3 moves from handshake to application keys, and
// trying tells when without reading the encrypted handshake).
func (s *tlsSession) open(d *tlsDir, rec []byte) ([]byte, bool) {
	for i := d.cur; i < len(d.keys) && i <= d.cur+1; i++ {
		if out, ok := d.keys[i].open(d.scratch[:0], rec[:5], rec[5:]); ok {
			d.scratch = out[:0]
			d.cur = i
			return out, true
		}
	}
	return nil, false
}

// keyUpdate moves a direction to its next traffic secret when the
// handshake messages it sent under encryption hold a KeyUpdate.
func (s *tlsSession) keyUpdate(d *tlsDir, b []byte) {
	for len(b) > 0 {
		typ, _, n := splitHandshake(b)
		if n == 0 {
			return
		}
		b = b[n:]
		if typ != hsKeyUpdate || d.cur >= len(d.secrets) || d.secrets[d.cur] == nil {
			continue
		}
		next, err := nextSecret(s.suite, d.secrets[d.cur])
		if err != nil {
			s.fail = ReasonTLSDecrypt
			return
		}
		k, err := tls13Key(s.suite, next)
		if err != nil {
			s.fail = ReasonTLSDecrypt
			return
		}
		d.keys = append(d.keys[:d.cur+1], k)
		d.secrets = append(d.secrets[:d.cur+1], next)
		d.cur++
	}
}

// handshake reads the hellos out of a direction's plaintext handshake.
func (s *tlsSession) handshake(role int, frag []byte) {
	d := &s.dirs[role]
	if d.hsDone {
		return
	}
	d.hs = append(d.hs, frag...)
	for {
		typ, body, n := splitHandshake(d.hs)
		if n == 0 {
			if len(d.hs) > maxHandshake {
				d.hs, d.hsDone = nil, true
				if s.ch == nil || s.sh == nil {
					s.fail = ReasonMalformed
				}
			}
			return
		}
		switch {
		case role == roleClient && typ == hsClientHello:
			h, err := parseHello(typ, body)
			if err != nil {
				s.fail = ReasonMalformed
				return
			}
			s.ch = &h
		case role == roleServer && typ == hsServerHello:
			h, err := parseHello(typ, body)
			if err != nil {
				s.fail = ReasonMalformed
				return
			}
			if h.random != helloRetry {
				s.sh = &h
				d.hs, d.hsDone = nil, true // certificates and the rest: not needed
				return
			}
		}
		d.hs = d.hs[n:]
	}
}

func (s *tlsSession) tls12() bool { return s.sh != nil && s.sh.version == versionTLS12 }
func (s *tlsSession) tls13() bool { return s.sh != nil && s.sh.version == versionTLS13 }

// deriveKeys looks the session's secrets up and makes both directions'
// keys, or sets fail.
func (s *tlsSession) deriveKeys() {
	s.keyed = true
	if s.ch == nil || s.sh == nil {
		s.fail = ReasonMalformed // encrypted records before the hellos
		return
	}
	if !s.tls12() && !s.tls13() {
		s.fail = ReasonTLSUnsupported
		return
	}
	st, ok := suiteOf(s.sh.suite)
	if !ok || (s.tls13() != (s.sh.suite>>8 == 0x13)) {
		s.fail = ReasonTLSUnsupported
		return
	}
	s.suite = st
	sec := s.keys.lookup(s.ch.random)
	if sec == nil {
		s.fail = ReasonTLSNoKey
		return
	}
	if s.tls12() {
		if sec.master == nil {
			s.fail = ReasonTLSNoKey
			return
		}
		c, sv, err := tls12Keys(st, sec.master, s.ch.random, s.sh.random)
		if err != nil {
			s.fail = ReasonTLSUnsupported
			return
		}
		s.dirs[roleClient].keys, s.dirs[roleServer].keys = []*recordKey{c}, []*recordKey{sv}
		return
	}
	if sec.client0 == nil || sec.server0 == nil {
		s.fail = ReasonTLSNoKey
		return
	}
	for role, pair := range [2][2][]byte{{sec.clientHS, sec.client0}, {sec.serverHS, sec.server0}} {
		d := &s.dirs[role]
		for _, secret := range pair {
			if secret == nil {
				d.noHS = true // the handshake records are passed over
				continue
			}
			k, err := tls13Key(st, secret)
			if err != nil {
				s.fail = ReasonTLSUnsupported
				return
			}
			d.keys, d.secrets = append(d.keys, k), append(d.secrets, secret)
		}
	}
}
