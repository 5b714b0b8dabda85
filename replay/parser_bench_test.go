package replay

import (
	"testing"
	"time"
)

// nopHandler pairs every response with a GET and drops what it is given.
type nopHandler struct{ ms *messages }

func (h nopHandler) pair(*message, bool) (string, bool)  { return "GET", true }
func (h nopHandler) complete(m *message)                 { h.ms.put(m) }
func (h nopHandler) lost(*message, int64, int64, string) {}
func (h nopHandler) dead(string)                         {}

// BenchmarkParser parses one request and its answer, as the test bed's
// edge sends them, per op: the cost of HTTP parsing alone, without
// reassembly, pairing or records.
func BenchmarkParser(b *testing.B) {
	req := []byte("GET /api/items/1 HTTP/1.1\r\nHost: 127.0.0.1:37871\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 11:15:17 GMT\r\nContent-Type: application/json\r\n" +
		"Content-Length: 130\r\nConnection: keep-alive\r\nX-Request-Id: 2fcc9988725231363820449e435edeae\r\nX-Edge-Time: 1795348935.203\r\n" +
		"X-Served-By: edge-test-1\r\nCache-Control: public, max-age=60\r\n\r\n" +
		`{"id":1,"name":"item 1","price":4.11,"currency":"EUR","tags":["a","b"],"stock":12,"updated":"2026-11-22T11:15:17Z","ok":true}    ` + "\n")
	for _, lean := range []bool{true, false} {
		name := "lean"
		if !lean {
			name = "all-headers"
		}
		b.Run(name, func(b *testing.B) {
			ms := &messages{}
			h := nopHandler{ms}
			cl := newParser(roleRequest, h, 1<<20, true)
			sv := newParser(roleResponse, h, 0, true)
			cl.lean, sv.lean, cl.msgs, sv.msgs = lean, lean, ms, ms
			now := time.Now()
			at := func(int) time.Time { return now }
			b.SetBytes(int64(len(req) + len(resp)))
			for b.Loop() {
				cl.feed(req, at)
				sv.feed(resp, at)
			}
		})
	}
}
