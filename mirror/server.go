package mirror

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
)

// ServerConfig says where a Mirror listens.
type ServerConfig struct {
	// Listen is the client-facing address, e.g. ":8080".
	Listen string
	// Admin is the admin API's address [127.0.0.1:9090]; "off" disables it.
	Admin string
	// AdminToken authorises admin changes; empty refuses every change.
	AdminToken string
	// TLSCert and TLSKey serve HTTPS (HTTP/1.1 and HTTP/2) when both are
	// set; HTTP/1.x over TLS gets the same framing check as plain HTTP.
	TLSCert, TLSKey string
	// H2C also accepts HTTP/2 without TLS.
	H2C bool
	// ShutdownTimeout bounds the wait for in-flight client requests on
	// shutdown [30s]; DrainTimeout then bounds the wait for queued shadow
	// copies [10s].
	ShutdownTimeout, DrainTimeout time.Duration
	// ReadHeaderTimeout bounds the wait for a request's head [60s, NGINX's
	// client_header_timeout]; IdleTimeout closes a keep-alive connection
	// idle that long [65s, NGINX's keepalive_timeout], so that idle clients
	// cannot hold every descriptor.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// Pprof serves Go profiles on the admin API at /debug/pprof/.
	Pprof bool
}

// Server runs a Mirror and its admin API on their listeners.
type Server struct {
	// Addr and AdminAddr are where it listens (resolved, e.g. port 0).
	Addr, AdminAddr string

	cfg    ServerConfig
	m      *Mirror
	log    zerolog.Logger
	client *http.Server
	admin  *http.Server
	lc, la net.Listener
}

// Results is what the admin API reports of the comparison: the summary
// JSON on demand and cheap counts for metrics. *diff.Aggregator is one.
type Results interface {
	Summary(source string) diff.Summary
	Counts() (diff.Counts, []diff.EndpointCounts)
}

// Listen binds the listeners of m, so that addresses are known before
// Serve. results feeds the admin API's /summary and /metrics.
func Listen(m *Mirror, results Results, cfg ServerConfig, log zerolog.Logger) (*Server, error) {
	if cfg.Admin == "" {
		cfg.Admin = "127.0.0.1:9090"
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 60 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 65 * time.Second
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	s := &Server{cfg: cfg, m: m, log: log}
	errLog := stdlog.New(log.With().Str("component", "http").Logger(), "", 0)
	s.client = &http.Server{
		Handler: refuseHandler(m, m), ErrorLog: errLog,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return withFramingConn(ConnContext(ctx, c), c)
		},
		ReadHeaderTimeout: cfg.ReadHeaderTimeout, IdleTimeout: cfg.IdleTimeout,
	}
	if cfg.H2C {
		s.client.Protocols = new(http.Protocols)
		s.client.Protocols.SetHTTP1(true)
		s.client.Protocols.SetUnencryptedHTTP2(true)
	}
	var err error
	if s.lc, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			s.lc.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		// HTTP/2 by ALPN; net/http serves it on the *tls.Conn our listener
		// hands on, and configures it only when NextProtos names h2.
		s.client.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
		s.lc = newTLSListener(log, s.lc, s.client.TLSConfig.Clone(), cfg.ReadHeaderTimeout)
	} else {
		s.lc = framingListener{s.lc}
	}
	s.Addr = s.lc.Addr().String()
	if cfg.Admin != "off" {
		m.metrics.withCounts(results.Counts)
		s.admin = &http.Server{Handler: adminHandler(m, results, cfg.AdminToken, cfg.Pprof), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: cfg.IdleTimeout, ErrorLog: errLog}
		if s.la, err = net.Listen("tcp", cfg.Admin); err != nil {
			s.lc.Close()
			return nil, fmt.Errorf("admin listen: %w", err)
		}
		s.AdminAddr = s.la.Addr().String()
	}
	return s, nil
}

// Close releases the listeners of a Server that will not Serve.
func (s *Server) Close() {
	s.lc.Close()
	if s.la != nil {
		s.la.Close()
	}
}

// Serve serves until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight client requests finish, and drains the shadow
// copies, so that every request received is accounted for when it returns.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	serve := func(srv *http.Server, l net.Listener) {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}
	go serve(s.client, s.lc)
	if s.admin != nil {
		go serve(s.admin, s.la)
	}
	s.log.Info().Str("listen", s.Addr).Str("admin", s.AdminAddr).Float64("weight", s.m.Weight()).Msg("mirror serving")

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info().Msg("mirror shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.client.Shutdown(sctx); err != nil {
		s.log.Warn().Err(err).Msg("in-flight requests cut off")
		s.client.Close()
	}
	dctx, dcancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer dcancel()
	s.m.Close(dctx)
	if s.admin != nil {
		s.admin.Close()
	}
	return serveErr
}
