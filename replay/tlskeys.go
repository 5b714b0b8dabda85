package replay

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// The TLS versions and cipher suites decrypted: every AEAD suite of TLS
// 1.3 and the AES-GCM and ChaCha20-Poly1305 suites of TLS 1.2 (ECDHE, DHE
// and RSA key exchange alike: the master secret comes from the key log).
// CBC suites are not: they are counted as tls_unsupported.
const (
	versionTLS12 = 0x0303
	versionTLS13 = 0x0304
)

type aeadKind uint8

const (
	aeadNone aeadKind = iota
	aeadAESGCM
	aeadChaCha
)

// suite is what decrypting needs to know of a cipher suite.
type suite struct {
	aead   aeadKind
	keyLen int
	sha384 bool // the PRF or HKDF hash is SHA-384, else SHA-256
}

func suiteOf(id uint16) (suite, bool) {
	switch id {
	case 0x1301: // TLS_AES_128_GCM_SHA256
		return suite{aeadAESGCM, 16, false}, true
	case 0x1302: // TLS_AES_256_GCM_SHA384
		return suite{aeadAESGCM, 32, true}, true
	case 0x1303: // TLS_CHACHA20_POLY1305_SHA256
		return suite{aeadChaCha, 32, false}, true
	case 0xc02b, 0xc02f, 0x009e, 0x009c: // ECDHE-ECDSA/ECDHE-RSA/DHE-RSA/RSA _AES_128_GCM_SHA256
		return suite{aeadAESGCM, 16, false}, true
	case 0xc02c, 0xc030, 0x009f, 0x009d: // ... _AES_256_GCM_SHA384
		return suite{aeadAESGCM, 32, true}, true
	case 0xcca8, 0xcca9, 0xccaa: // ECDHE-RSA/ECDHE-ECDSA/DHE-RSA _CHACHA20_POLY1305_SHA256
		return suite{aeadChaCha, 32, false}, true
	}
	return suite{}, false
}

func (s suite) hash() func() hash.Hash {
	if s.sha384 {
		return sha512.New384
	}
	return sha256.New
}

// recordKey decrypts the records of one direction under one key: a write
// key and IV, and the sequence number of the next record.
type recordKey struct {
	aead     cipher.AEAD
	iv       []byte // 12 bytes, or TLS 1.2 GCM's 4-byte salt
	explicit bool   // TLS 1.2 GCM: an 8-byte nonce opens every record
	tls13    bool
	seq      uint64
	nonce    [12]byte
	ad       [13]byte
}

func newAEAD(kind aeadKind, key []byte) (cipher.AEAD, error) {
	if kind == aeadChaCha {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// tls13Key derives a direction's key from its traffic secret (RFC 8446
// section 7.3).
func tls13Key(s suite, secret []byte) (*recordKey, error) {
	key, err := expandLabel(s, secret, "key", s.keyLen)
	if err != nil {
		return nil, err
	}
	iv, err := expandLabel(s, secret, "iv", 12)
	if err != nil {
		return nil, err
	}
	a, err := newAEAD(s.aead, key)
	if err != nil {
		return nil, err
	}
	return &recordKey{aead: a, iv: iv, tls13: true}, nil
}

// nextSecret is the traffic secret after a KeyUpdate (RFC 8446 section 7.2).
func nextSecret(s suite, secret []byte) ([]byte, error) {
	return expandLabel(s, secret, "traffic upd", len(secret))
}

// expandLabel is HKDF-Expand-Label with an empty context.
func expandLabel(s suite, secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0) // context: empty
	return hkdf.Expand(s.hash(), secret, string(info), n)
}

// tls12Keys derives both directions' keys from the master secret (RFC 5246
// section 6.3; RFC 5288 for GCM, RFC 7905 for ChaCha20-Poly1305).
func tls12Keys(s suite, master []byte, clientRandom, serverRandom [32]byte) (client, server *recordKey, err error) {
	ivLen := 4
	if s.aead == aeadChaCha {
		ivLen = 12
	}
	seed := append(append([]byte{}, serverRandom[:]...), clientRandom[:]...)
	block := prf12(s.hash(), master, "key expansion", seed, 2*s.keyLen+2*ivLen)
	ck, sk := block[:s.keyLen], block[s.keyLen:2*s.keyLen]
	civ, siv := block[2*s.keyLen:2*s.keyLen+ivLen], block[2*s.keyLen+ivLen:]
	mk := func(key, iv []byte) (*recordKey, error) {
		a, err := newAEAD(s.aead, key)
		if err != nil {
			return nil, err
		}
		return &recordKey{aead: a, iv: iv, explicit: s.aead == aeadAESGCM}, nil
	}
	if client, err = mk(ck, civ); err != nil {
		return nil, nil, err
	}
	if server, err = mk(sk, siv); err != nil {
		return nil, nil, err
	}
	return client, server, nil
}

// prf12 is the TLS 1.2 PRF: P_hash(secret, label + seed) cut to n bytes.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	ls := append([]byte(label), seed...)
	mac := hmac.New(h, secret)
	mac.Write(ls)
	a := mac.Sum(nil) // A(1)
	out := make([]byte, 0, n+mac.Size())
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(ls)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

// open decrypts one record's fragment, appending the plaintext to dst
// (not in place: a record that fails to open under one key is tried under
// the next). header is the record's 5-byte header; ok is false when the
// record does not authenticate, and then the sequence number stays.
func (k *recordKey) open(dst, header []byte, frag []byte) ([]byte, bool) {
	typ := header[0]
	var nonce []byte
	if k.explicit {
		if len(frag) < 8+k.aead.Overhead() {
			return nil, false
		}
		copy(k.nonce[:4], k.iv)
		copy(k.nonce[4:], frag[:8])
		nonce, frag = k.nonce[:12], frag[8:]
	} else {
		copy(k.nonce[:], k.iv)
		var s [8]byte
		binary.BigEndian.PutUint64(s[:], k.seq)
		for i := range 8 {
			k.nonce[4+i] ^= s[i]
		}
		nonce = k.nonce[:12]
	}
	var ad []byte
	if k.tls13 {
		ad = header
	} else {
		if len(frag) < k.aead.Overhead() {
			return nil, false
		}
		binary.BigEndian.PutUint64(k.ad[:8], k.seq)
		k.ad[8] = typ
		copy(k.ad[9:11], header[1:3])
		binary.BigEndian.PutUint16(k.ad[11:], uint16(len(frag)-k.aead.Overhead()))
		ad = k.ad[:]
	}
	out, err := k.aead.Open(dst, nonce, frag, ad)
	if err != nil {
		return nil, false
	}
	k.seq++
	return out, true
}
