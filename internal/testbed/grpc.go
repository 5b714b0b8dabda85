package testbed

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// A small gRPC service on h2c, enough for what cutover sees of gRPC on the
// wire: length-prefixed messages in application/grpc bodies and the
// status in trailers. It is hand-rolled on net/http (which speaks h2c and
// writes trailers itself) rather than built with google.golang.org/grpc:
// nothing here needs protobuf code generation or grpc's dependency tree,
// and a switch to answer another status is a field, not an interceptor.

// GRPCMethod is the one method served: it answers "item:" and the request
// message.
const GRPCMethod = "/cutover.testbed.Items/Get"

// GRPCServer is a running gRPC fixture.
type GRPCServer struct {
	Addr string
	URL  string // http://addr, spoken to over h2c

	srv *http.Server
	mu  sync.Mutex
	// code and message are the grpc-status and grpc-message answered.
	code    int
	message string
}

// StartGRPC starts the fixture on a free loopback port; it stops when ctx
// is done or Stop is called.
func StartGRPC(ctx context.Context) (*GRPCServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("grpc fixture: %w", err)
	}
	g := &GRPCServer{Addr: ln.Addr().String()}
	g.URL = "http://" + g.Addr
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true) // h2c with prior knowledge, as gRPC clients speak it
	g.srv = &http.Server{Handler: g, Protocols: &protos, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = g.srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		g.Stop()
	}()
	return g, nil
}

// SetStatus makes the fixture answer grpc-status code with message (0 is
// OK; 5 NOT_FOUND, 14 UNAVAILABLE, ...).
func (g *GRPCServer) SetStatus(code int, message string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.code, g.message = code, message
}

// Stop stops the fixture.
func (g *GRPCServer) Stop() { _ = g.srv.Close() }

func (g *GRPCServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/grpc" {
		http.Error(w, "gRPC only", http.StatusUnsupportedMediaType)
		return
	}
	g.mu.Lock()
	code, message := g.code, g.message
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	msg, err := readGRPCMessage(r.Body)
	switch {
	case r.URL.Path != GRPCMethod:
		code, message = 12, "unknown method" // UNIMPLEMENTED
	case err != nil:
		code, message = 13, "bad request message" // INTERNAL
	}
	w.WriteHeader(http.StatusOK)
	if code == 0 {
		_, _ = w.Write(GRPCFrame(append([]byte("item:"), msg...)))
	}
	w.Header().Set("Grpc-Status", strconv.Itoa(code))
	if message != "" {
		w.Header().Set("Grpc-Message", message)
	}
}

// GRPCFrame is msg as a gRPC length-prefixed message (not compressed).
func GRPCFrame(msg []byte) []byte {
	b := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

func readGRPCMessage(r io.Reader) ([]byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	if head[0] != 0 {
		return nil, errors.New("compressed message")
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n > 1<<20 {
		return nil, errors.New("message too large")
	}
	msg := make([]byte, n)
	_, err := io.ReadFull(r, msg)
	return msg, err
}
