package replay

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
)

// KeyLog holds TLS session secrets in the NSS key log format that curl,
// browsers and Go's tls.Config.KeyLogWriter write where SSLKEYLOGFILE
// points, keyed by the ClientHello's random. It is safe for concurrent use:
// the shards of a read look secrets up while the pcapng Decryption Secrets
// Blocks the reader meets add more.
//
// Secrets never leave it: no method returns or prints one, and errors name
// a line by its number, never by its content.
type KeyLog struct {
	mu       sync.RWMutex
	sessions map[[32]byte]*sessionSecrets

	// A log loaded from a file is read again, from where it was read to,
	// when a session is not in it and the file grew: a live capture's
	// client or server keeps appending to its SSLKEYLOGFILE.
	file   sync.Mutex
	path   string
	offset int64
}

// sessionSecrets are what a key log gives for one ClientHello random.
type sessionSecrets struct {
	master []byte // TLS 1.2: CLIENT_RANDOM
	// TLS 1.3 traffic secrets.
	clientHS, serverHS, client0, server0 []byte
}

// NewKeyLog returns an empty key log.
func NewKeyLog() *KeyLog { return &KeyLog{sessions: map[[32]byte]*sessionSecrets{}} }

// LoadKeyLog reads the key log file at path.
func LoadKeyLog(path string) (*KeyLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k := NewKeyLog()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	whole := complete(b)
	if err := k.Parse(bytes.NewReader(whole)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	k.path, k.offset = path, int64(len(whole))
	return k, nil
}

// complete cuts b after its last line end, unless what follows is a
// well-formed line (a file not ended by a newline): a line being written
// is read once the file grows.
func complete(b []byte) []byte {
	whole := b[:bytes.LastIndexByte(b, '\n')+1]
	if tail := b[len(whole):]; len(tail) > 0 && NewKeyLog().addLine(tail) == nil {
		return b
	}
	return whole
}

// grew reads what was appended to the log's file since it was last read
// (whole lines; malformed ones passed over) and reports whether there was
// any.
func (k *KeyLog) grew() bool {
	if k.path == "" {
		return false
	}
	k.file.Lock()
	defer k.file.Unlock()
	st, err := os.Stat(k.path)
	if err != nil || st.Size() <= k.offset {
		return false
	}
	f, err := os.Open(k.path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, st.Size()-k.offset)
	n, _ := f.ReadAt(b, k.offset)
	whole := complete(b[:n])
	if len(whole) == 0 {
		return false
	}
	k.parseLenient(whole)
	k.offset += int64(len(whole))
	return true
}

// String says how many sessions the log holds, never what.
func (k *KeyLog) String() string { return fmt.Sprintf("key log of %d TLS sessions", k.Len()) }

// Len is the number of sessions with at least one secret.
func (k *KeyLog) Len() int {
	if k == nil {
		return 0
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.sessions)
}

// Parse adds the secrets of an NSS key log. Comments and labels it has no
// use for (early traffic, exporter secrets) are passed over; a line that is
// not "LABEL <64 hex digits> <hex secret>" is an error naming its number.
func (k *KeyLog) Parse(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if err := k.addLine(sc.Bytes()); err != nil {
			return fmt.Errorf("key log line %d: %w", n, err)
		}
	}
	return sc.Err()
}

func (k *KeyLog) addLine(line []byte) error {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return nil
	}
	f := bytes.Fields(line)
	if len(f) != 3 {
		return fmt.Errorf("want LABEL CLIENT_RANDOM SECRET, got %d fields", len(f))
	}
	var random [32]byte
	if len(f[1]) != 64 {
		return fmt.Errorf("client random of %d hex digits, want 64", len(f[1]))
	}
	if _, err := hex.Decode(random[:], f[1]); err != nil {
		return fmt.Errorf("client random is not hex")
	}
	secret := make([]byte, hex.DecodedLen(len(f[2])))
	if _, err := hex.Decode(secret, f[2]); err != nil || len(secret) == 0 {
		return fmt.Errorf("secret is not hex") // never the secret itself
	}
	label := string(f[0])
	switch label {
	case "CLIENT_RANDOM":
		if len(secret) != 48 {
			return fmt.Errorf("CLIENT_RANDOM master secret of %d bytes, want 48", len(secret))
		}
	case "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0":
		if len(secret) != 32 && len(secret) != 48 {
			return fmt.Errorf("%s of %d bytes, want 32 or 48", label, len(secret))
		}
	default:
		return nil // EXPORTER_SECRET, CLIENT_EARLY_TRAFFIC_SECRET, ...: not needed
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.sessions[random]
	if s == nil {
		s = &sessionSecrets{}
		k.sessions[random] = s
	}
	switch label {
	case "CLIENT_RANDOM":
		s.master = secret
	case "CLIENT_HANDSHAKE_TRAFFIC_SECRET":
		s.clientHS = secret
	case "SERVER_HANDSHAKE_TRAFFIC_SECRET":
		s.serverHS = secret
	case "CLIENT_TRAFFIC_SECRET_0":
		s.client0 = secret
	case "SERVER_TRAFFIC_SECRET_0":
		s.server0 = secret
	}
	return nil
}

// lookup returns the secrets for a ClientHello random, nil when the log
// has none. The secrets are not changed once added, only replaced.
func (k *KeyLog) lookup(random [32]byte) *sessionSecrets {
	if k == nil {
		return nil
	}
	if s := k.get(random); s != nil || !k.grew() {
		return s
	}
	return k.get(random)
}

func (k *KeyLog) get(random [32]byte) *sessionSecrets {
	k.mu.RLock()
	defer k.mu.RUnlock()
	s := k.sessions[random]
	if s == nil {
		return nil
	}
	c := *s
	return &c
}
