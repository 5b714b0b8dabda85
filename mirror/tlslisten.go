package mirror

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// tlsListener terminates TLS itself so that HTTP/1.x over TLS gets the same
// framing check as plain connections: net/http's own TLS path would hand
// the handler only what its parser made of the bytes. Each accepted
// connection is handshaken on its own goroutine (a slow client holds no
// other), then handed to net/http as the *tls.Conn itself when ALPN chose
// h2 (HTTP/2 frames its own messages, and net/http needs that type to serve
// it), or as a framingConn over it otherwise.
//
// The listener owns its goroutines: Close stops the accept loop, aborts
// handshakes in progress and closes every connection not yet handed on.
type tlsListener struct {
	inner   net.Listener
	cfg     *tls.Config
	timeout time.Duration // of a handshake
	log     zerolog.Logger

	conns     chan net.Conn
	done      chan struct{}
	cancel    context.CancelFunc
	ctx       context.Context
	closeOnce sync.Once
	wg        sync.WaitGroup
	acceptErr error // why it stopped: written once, before done is closed
}

var _ net.Listener = (*tlsListener)(nil)

// newTLSListener starts accepting on inner. cfg must offer "h2" in
// NextProtos for HTTP/2 to be negotiated (and for net/http to serve it).
func newTLSListener(log zerolog.Logger, inner net.Listener, cfg *tls.Config, handshakeTimeout time.Duration) *tlsListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &tlsListener{
		inner: inner, cfg: cfg, timeout: handshakeTimeout, log: log,
		conns: make(chan net.Conn), done: make(chan struct{}), ctx: ctx, cancel: cancel,
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	defer l.wg.Done()
	for {
		raw, err := l.inner.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				time.Sleep(5 * time.Millisecond) // e.g. out of descriptors: as net/http backs off
				continue
			}
			l.stop(err)
			return
		}
		l.wg.Add(1)
		go l.handshake(raw)
	}
}

// handshake completes TLS on raw and hands the connection on, or closes it.
func (l *tlsListener) handshake(raw net.Conn) {
	defer l.wg.Done()
	tc := tls.Server(raw, l.cfg)
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.log.Debug().Err(err).Str("from", raw.RemoteAddr().String()).Msg("tls handshake failed")
		tc.Close()
		return
	}
	var c net.Conn = tc
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		c = &framingConn{Conn: tc}
	}
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection whose handshake is complete.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.acceptErr
	}
}

// Close stops accepting, aborts the handshakes in progress and closes every
// connection not handed on; it returns when the listener's goroutines have.
func (l *tlsListener) Close() error {
	err := l.stop(net.ErrClosed)
	l.wg.Wait()
	return err
}

// stop ends the listener once; Accept then returns why.
func (l *tlsListener) stop(why error) error {
	var err error
	l.closeOnce.Do(func() {
		l.acceptErr = why
		close(l.done)
		l.cancel()
		err = l.inner.Close()
	})
	return err
}

func (l *tlsListener) Addr() net.Addr { return l.inner.Addr() }
