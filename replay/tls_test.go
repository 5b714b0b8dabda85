package replay

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testdata/tls.pcap is curl against NGINX with TLS and HTTP/2 (see
// TestTLSCaptureMatchesTshark, which makes such captures): HTTP/1.1 and
// HTTP/2, TLS 1.2 (AES-128-GCM, ChaCha20-Poly1305, AES-256-GCM) and TLS 1.3
// (AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305), 7 requests each, and 7
// h2c connections of one request; tls.keys.log is curl's key log of it
// (throwaway sessions of a test certificate), tls-dsb.pcapng the same with
// the key log in a Decryption Secrets Block (editcap --inject-secrets).
const tlsRequests = 49

func testKeys(t testing.TB) *KeyLog {
	t.Helper()
	k, err := LoadKeyLog(filepath.Join("testdata", "tls.keys.log"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readTLS(t *testing.T, name string, cfg ReadConfig) ([]string, Stats) {
	t.Helper()
	var got []string
	st, err := ReadFile(context.Background(), filepath.Join("testdata", name), cfg, func(r *Record) error {
		line := r.Skip
		if r.Skip == "" {
			line = r.Proto + " " + r.Request.Method + " " + r.Request.Host + r.Request.URI
			if r.Response != nil {
				line += " " + r.Response.Proto + " " + strconv.Itoa(r.Response.Status)
			}
		}
		got = append(got, r.Client+" "+line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

func TestTLSTestdata(t *testing.T) {
	t.Parallel()
	keys := testKeys(t)
	one, st := readTLS(t, "tls.pcap", ReadConfig{TLSKeys: keys, Responses: true})
	if st.Requests != tlsRequests || st.Responses != tlsRequests || len(st.Skipped) != 0 {
		t.Fatalf("stats %+v: want %d requests with answers, nothing skipped", st, tlsRequests)
	}
	var h2 int
	for _, l := range one {
		if strings.Contains(l, "HTTP/2.0 GET") || strings.Contains(l, "HTTP/2.0 POST") {
			h2++
		}
	}
	if want := 7 * 4; h2 != want { // 3 TLS runs and h2c
		t.Errorf("%d HTTP/2 requests, want %d", h2, want)
	}
	tests := []struct {
		name string
		file string
		cfg  ReadConfig
	}{
		{"sharded", "tls.pcap", ReadConfig{TLSKeys: keys, Responses: true, Workers: 3}},
		{"secrets block, no key log", "tls-dsb.pcapng", ReadConfig{Responses: true}},
		{"secrets block and key log", "tls-dsb.pcapng", ReadConfig{TLSKeys: NewKeyLog(), Responses: true, Workers: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := readTLS(t, tt.file, tt.cfg)
			if d := cmp.Diff(one, got); d != "" {
				t.Errorf("records (-key log, one goroutine +%s):\n%s", tt.name, d)
			}
		})
	}
}

func TestTLSWithoutKeys(t *testing.T) {
	t.Parallel()
	log, err := os.ReadFile(filepath.Join("testdata", "tls.keys.log"))
	if err != nil {
		t.Fatal(err)
	}
	// The right sessions with wrong secrets: no record authenticates.
	wrong := NewKeyLog()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		f := strings.Fields(l)
		lines = append(lines, f[0]+" "+f[1]+" "+strings.Repeat("5a", len(f[2])/2))
	}
	if err := wrong.Parse(strings.NewReader(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		keys *KeyLog
		want map[string]int
	}{
		{"no key log", nil, map[string]int{ReasonTLS: 6}},
		{"empty key log", NewKeyLog(), map[string]int{ReasonTLS: 6}},
		{"wrong secrets", wrong, map[string]int{ReasonTLSDecrypt: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, st := readTLS(t, "tls.pcap", ReadConfig{TLSKeys: tt.keys})
			if d := cmp.Diff(tt.want, st.Skipped); d != "" || st.Requests != 7 {
				t.Errorf("%d requests (want the 7 of h2c), skipped (-want +got):\n%s", st.Requests, d)
			}
		})
	}
}

func TestKeyLogParse(t *testing.T) {
	t.Parallel()
	random := strings.Repeat("01", 32)
	secret := strings.Repeat("9f", 48)
	tests := []struct {
		name, log, wantErr string
		sessions           int
	}{
		{"tls 1.2", "CLIENT_RANDOM " + random + " " + secret + "\n", "", 1},
		{"tls 1.3 and comments", "# curl\n\nSERVER_HANDSHAKE_TRAFFIC_SECRET " + random + " " + secret[:64] + "\nCLIENT_TRAFFIC_SECRET_0 " + random + " " + secret[:64] + "\nEXPORTER_SECRET " + random + " " + secret[:64] + "\n", "", 1},
		{"crlf", "CLIENT_RANDOM " + random + " " + secret + "\r\n", "", 1},
		{"short random", "CLIENT_RANDOM 0102 " + secret, "key log line 1: client random of 4 hex digits, want 64", 0},
		{"secret not hex", "# x\nCLIENT_RANDOM " + random + " " + secret[:90] + "zz", "key log line 2: secret is not hex", 0},
		{"master of another size", "CLIENT_RANDOM " + random + " " + secret[:64], "key log line 1: CLIENT_RANDOM master secret of 32 bytes, want 48", 0},
		{"fields", "CLIENT_RANDOM " + random, "key log line 1: want LABEL CLIENT_RANDOM SECRET, got 2 fields", 0},
		{"traffic secret of another size", "CLIENT_TRAFFIC_SECRET_0 " + random + " " + secret[:40], "key log line 1: CLIENT_TRAFFIC_SECRET_0 of 20 bytes, want 32 or 48", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewKeyLog()
			err := k.Parse(strings.NewReader(tt.log))
			if got := errString(err); got != tt.wantErr {
				t.Errorf("error %q, want %q", got, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), secret[:16]) {
				t.Errorf("the error shows the secret: %v", err)
			}
			if tt.wantErr == "" && k.Len() != tt.sessions {
				t.Errorf("%d sessions, want %d", k.Len(), tt.sessions)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzTLSSession: the record and handshake parsers take any bytes, cut
// anywhere, in both directions, without panicking.
func FuzzTLSSession(f *testing.F) {
	hello := func(typ byte, body []byte) []byte {
		hs := append([]byte{typ, 0, byte(len(body) >> 8), byte(len(body))}, body...)
		return append([]byte{recordHandshake, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	}
	ch := append(append([]byte{3, 3}, make([]byte, 32)...), 0, 0, 2, 0x13, 1, 1, 0, 0, 0)
	sh := append(append([]byte{3, 3}, make([]byte, 32)...), 0, 0x13, 1, 0, 0, 6, 0, 43, 0, 2, 3, 4)
	app := []byte{recordData, 3, 3, 0, 20}
	app = append(app, make([]byte, 20)...)
	f.Add(hello(hsClientHello, ch), append(hello(hsServerHello, sh), app...), uint16(9))
	f.Add(hello(hsClientHello, ch), append(append(hello(hsServerHello, sh[:40]), recordCCS, 3, 3, 0, 1, 1), app...), uint16(3))
	f.Add([]byte{recordHandshake, 3, 3, 0xff, 0xff}, []byte{recordAlert, 3, 3, 0, 2, 2, 40}, uint16(0))
	keys := NewKeyLog()
	_ = keys.Parse(strings.NewReader("CLIENT_RANDOM " + strings.Repeat("00", 32) + " " + strings.Repeat("11", 48) + "\nCLIENT_TRAFFIC_SECRET_0 " + strings.Repeat("00", 32) + " " + strings.Repeat("22", 32) + "\nSERVER_TRAFFIC_SECRET_0 " + strings.Repeat("00", 32) + " " + strings.Repeat("33", 32) + "\n"))
	f.Fuzz(func(t *testing.T, client, server []byte, cut uint16) {
		s := newTLSSession(keys, func(_ int, data []byte, from, to int64, _ time.Time) {
			if from >= to || int64(len(data)) > to-from {
				t.Errorf("plaintext of %d bytes from a record at [%d, %d)", len(data), from, to)
			}
		})
		at := func(int) time.Time { return time.Time{} }
		c := min(int(cut), len(client))
		s.feed(roleClient, client[:c], at)
		s.feed(roleServer, server, at)
		s.feed(roleClient, client[c:], at)
		if s.fail == "" && s.dirs[roleClient].pos+int64(len(s.dirs[roleClient].part)) != int64(len(client)) {
			t.Errorf("client position %d + %d held, after %d bytes", s.dirs[roleClient].pos, len(s.dirs[roleClient].part), len(client))
		}
	})
}

// FuzzReadTLS: captures of TLS and HTTP/2, cut and changed anywhere, read
// with their key log, make the reader neither panic nor hang, and a read
// over shards finds what one goroutine finds.
func FuzzReadTLS(f *testing.F) {
	// One connection each of tls.pcap: small inputs fuzz faster.
	for _, name := range []string{"tls13-h2.pcap", "tls12-h1.pcap"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	keys := testKeys(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var one, sharded []string
		read := func(workers int, out *[]string) (Stats, error) {
			return Read(context.Background(), bytes.NewReader(data), "fuzz", ReadConfig{Responses: true, TLSKeys: keys, Workers: workers}, func(r *Record) error {
				*out = append(*out, r.Client+" "+r.Request.Method+" "+r.Request.URI+" "+r.Skip)
				return nil
			})
		}
		st, err := read(1, &one)
		st2, err2 := read(2, &sharded)
		if d := cmp.Diff(one, sharded); d != "" || errString(err) != errString(err2) || st.Requests != st2.Requests {
			t.Errorf("sharded read differs: records (-one +sharded):\n%s\nerrors %v / %v", d, err, err2)
		}
	})
}

// TestTLSSessionSkips: sessions that cannot be decrypted say why.
func TestTLSSessionSkips(t *testing.T) {
	t.Parallel()
	random := make([]byte, 32)
	random[0] = 7
	record := func(typ byte, version uint16, body []byte) []byte {
		return append([]byte{typ, byte(version >> 8), byte(version), byte(len(body) >> 8), byte(len(body))}, body...)
	}
	handshake := func(typ byte, body []byte) []byte {
		return record(recordHandshake, 0x0301, append([]byte{typ, 0, byte(len(body) >> 8), byte(len(body))}, body...))
	}
	clientHello := handshake(hsClientHello, append(append([]byte{3, 3}, random...), 0, 0, 2, 0xc0, 0x2f, 1, 0))
	serverHello := func(version, suite uint16) []byte {
		body := append(append([]byte{3, 3}, make([]byte, 32)...), 0, byte(suite>>8), byte(suite), 0)
		if version == versionTLS13 {
			body = append(body, 0, 6, 0, 43, 0, 2, 3, 4)
		} else {
			body[1] = byte(version)
		}
		return handshake(hsServerHello, body)
	}
	encrypted := record(recordData, 0x0303, make([]byte, 40))
	master := "CLIENT_RANDOM " + hex.EncodeToString(random) + " " + strings.Repeat("ab", 48) + "\n"
	tests := []struct {
		name   string
		keys   string
		server []byte
		want   string
	}{
		{"tls 1.2 cbc", master, serverHello(versionTLS12, 0xc013), ReasonTLSUnsupported},
		{"tls 1.1", master, serverHello(0x0302, 0xc02f), ReasonTLSUnsupported},
		{"a 1.3 suite in tls 1.2", master, serverHello(versionTLS12, 0x1301), ReasonTLSUnsupported},
		{"no key for the session", "CLIENT_RANDOM " + strings.Repeat("00", 32) + " " + strings.Repeat("ab", 48) + "\n", serverHello(versionTLS12, 0xc02f), ReasonTLSNoKey},
		{"tls 1.3 without its traffic secrets", master, serverHello(versionTLS13, 0x1301), ReasonTLSNoKey},
		{"wrong master secret", master, serverHello(versionTLS12, 0xc02f), ReasonTLSDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := NewKeyLog()
			if err := keys.Parse(strings.NewReader(tt.keys)); err != nil {
				t.Fatal(err)
			}
			s := newTLSSession(keys, func(int, []byte, int64, int64, time.Time) { t.Error("plaintext from a session that cannot be read") })
			at := func(int) time.Time { return time.Time{} }
			s.feed(roleClient, clientHello, at)
			s.feed(roleServer, append(append(tt.server, record(recordCCS, 0x0303, []byte{1})...), encrypted...), at)
			if s.fail != tt.want {
				t.Errorf("fail %q, want %q", s.fail, tt.want)
			}
		})
	}
}

// TestKeyLogGrows: a key log file still being written (a live capture's
// SSLKEYLOGFILE) is read again for a session it did not hold.
func TestKeyLogGrows(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys.log")
	first, second := strings.Repeat("01", 32), strings.Repeat("02", 32)
	secret := strings.Repeat("ab", 48)
	if err := os.WriteFile(path, []byte("CLIENT_RANDOM "+first+" "+secret+"\nCLIENT_RANDOM "+second[:10]), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := LoadKeyLog(path)
	if err != nil {
		t.Fatal(err)
	}
	var r1, r2 [32]byte
	hex.Decode(r1[:], []byte(first))
	hex.Decode(r2[:], []byte(second))
	if k.lookup(r1) == nil || k.lookup(r2) != nil {
		t.Fatalf("before it grows: want the first session only")
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(second[10:] + " " + secret + "\n")
	f.Close()
	if k.lookup(r2) == nil || k.Len() != 2 {
		t.Errorf("after it grew: the second session is not found (%d sessions)", k.Len())
	}
	// A file whose last line has no newline: the line is whole, and read.
	if err := os.WriteFile(path, []byte("CLIENT_RANDOM "+second+" "+secret), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadKeyLog(path); err != nil || k.Len() != 1 {
		t.Errorf("a last line without newline: %v, %d sessions, want 1", err, k.Len())
	}
}
