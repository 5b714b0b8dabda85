package testbed

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server is a Go HTTP server on a free loopback port, owned by the test bed:
// it stops when its context is done or Stop is called.
type Server struct {
	Addr string
	URL  string
	srv  *http.Server
	done chan struct{}
}

func startServer(ctx context.Context, network, host string, h http.Handler) (*Server, error) {
	l, err := net.Listen(network, net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", host, err)
	}
	s := &Server{
		Addr: l.Addr().String(),
		URL:  "http://" + l.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		// Serve returns when the server is closed; a broken listener shows
		// as a part that stops answering, which is what tests look for.
		_ = s.srv.Serve(l)
	}()
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	return s, nil
}

// Stop closes the listener and every connection at once: a stopped part of
// the test bed must look like a dead host, not a draining one.
func (s *Server) Stop() error {
	err := s.srv.Close()
	<-s.done
	return err
}
