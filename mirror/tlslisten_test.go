package mirror

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/testbed"
)

// TestTLSListenerHandshakes: a client that never says hello holds no other
// client back, is dropped at the handshake timeout, and Close returns at
// once with handshakes in progress (nothing hangs on shutdown).
func TestTLSListenerHandshakes(t *testing.T) {
	t.Parallel()
	cert, err := testbed.NewCert()
	if err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}, NextProtos: []string{"h2", "http/1.1"}}
	l := newTLSListener(zerolog.Nop(), inner, cfg, 500*time.Millisecond)
	addr := l.Addr().String()

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	for _, tt := range []struct {
		alpn    string
		framing bool
	}{{"http/1.1", true}, {"h2", false}, {"", true}} {
		t.Run("alpn "+tt.alpn, func(t *testing.T) {
			ccfg := &tls.Config{RootCAs: cert.Pool}
			if tt.alpn != "" {
				ccfg.NextProtos = []string{tt.alpn}
			}
			errc := make(chan error, 1)
			go func() {
				c, err := tls.Dial("tcp", addr, ccfg)
				if err == nil {
					defer c.Close()
					_, err = c.Read(make([]byte, 1)) // until the server closes
				}
				errc <- err
			}()
			c, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			_, isFraming := c.(*framingConn)
			_, isTLS := c.(*tls.Conn)
			if isFraming != tt.framing || isTLS == tt.framing {
				t.Errorf("handed on a %T, want framing checked %v", c, tt.framing)
			}
			c.Close()
			<-errc
		})
	}

	silent.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("a client silent past the handshake timeout: read %v, want the connection closed", err)
	}

	late, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	time.Sleep(50 * time.Millisecond) // its handshake has started
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close waits for a handshake in progress")
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
