package replay

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// events records what a parser reports, as text.
type events struct {
	methods []string // methods the responses answer, in order
	got     []string
}

func (e *events) pair(m *message, force bool) (string, bool) {
	if len(e.methods) == 0 {
		return "", force
	}
	method := e.methods[0]
	e.methods = e.methods[1:]
	return method, true
}

func (e *events) complete(m *message) {
	s := fmt.Sprintf("%s %s %d body=%q", m.method, m.uri, m.status, m.body)
	if m.interim > 0 {
		s += fmt.Sprintf(" interim=%d", m.interim)
	}
	if len(m.trailer) > 0 {
		s += fmt.Sprintf(" trailer=%v", m.trailer)
	}
	e.got = append(e.got, strings.TrimSpace(strings.ReplaceAll(s, "  ", " ")))
}

func (e *events) lost(m *message, from, to int64, reason string) {
	e.got = append(e.got, fmt.Sprintf("lost %s [%d,%d)", reason, from, to))
}

func (e *events) dead(reason string) { e.got = append(e.got, "dead "+reason) }

func TestParser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		role    role
		started bool
		methods []string
		in      string
		want    []string
	}{
		{"content-length and keep-alive", roleRequest, true, nil,
			"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n",
			[]string{`POST /a 0 body="abc"`, `GET /b 0 body=""`}},
		{"chunked with trailers", roleRequest, true, nil,
			"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 1\r\n\r\n",
			[]string{`POST /c 0 body="abcde" trailer=map[X-Sum:[1]]`}},
		{"HTTP/1.0 and LF line ends", roleRequest, true, nil,
			"GET /old HTTP/1.0\nHost: h\n\n",
			[]string{`GET /old 0 body=""`}},
		{"TE and CL conflict", roleRequest, true, nil,
			"POST /s HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
			[]string{"lost te_cl_conflict [0,67)", `GET /next 0 body=""`}},
		{"bad content-length", roleRequest, true, nil,
			"POST /s HTTP/1.1\r\nContent-Length: 4, 5\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
			[]string{"lost malformed [0,42)", `GET /next 0 body=""`}},
		{"space before colon", roleRequest, true, nil,
			"GET /s HTTP/1.1\r\nHost : x\r\n\r\n",
			[]string{"lost malformed [0,27)"}},
		{"tls", roleRequest, true, nil, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", []string{"dead encrypted"}},
		{"ssh", roleRequest, true, nil, "SSH-2.0-OpenSSH_9.2\r\n", []string{"dead ssh"}},
		{"http2 preface", roleRequest, true, nil, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", []string{"dead http2"}},
		{"other protocol", roleRequest, true, nil, "HELO example.org\r\n", []string{"dead not_http"}},
		{"mid-flow resync", roleRequest, false, nil,
			"dy of something\r\nmore\r\nGET /found HTTP/1.1\r\nHost: h\r\n\r\n",
			[]string{`GET /found 0 body=""`}},
		{"HEAD, 204 and 304 have no body", roleResponse, true, []string{"HEAD", "GET", "GET"},
			"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
			[]string{`200 body=""`, `204 body=""`, `304 body=""`}},
		{"100-continue then the answer", roleResponse, true, []string{"POST"},
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
			[]string{`201 body="ok" interim=2`}},
		{"pipelined answers in order", roleResponse, true, []string{"GET", "HEAD", "GET"},
			"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n",
			[]string{`200 body="a"`, `200 body=""`, `200 body="c"`}},
		{"body ended by close", roleResponse, true, []string{"GET"},
			"HTTP/1.0 200 OK\r\n\r\nuntil the end",
			[]string{`200 body="until the end"`}},
		{"switching protocols", roleResponse, true, []string{"GET"},
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
			[]string{`101 body=""`, "dead upgrade"}},
		{"answer cut by the end of the capture", roleResponse, true, []string{"GET"},
			"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
			[]string{"lost incomplete [0,42)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Whole, then a byte at a time: TCP may cut anywhere.
			for _, step := range []int{len(tt.in), 1} {
				e := &events{methods: append([]string(nil), tt.methods...)}
				p := newParser(tt.role, e, 1<<20, tt.started)
				for i := 0; i < len(tt.in); i += step {
					p.feed([]byte(tt.in[i:min(i+step, len(tt.in))]), func(int) time.Time { return time.Time{} })
				}
				p.end(time.Time{})
				if diff := cmp.Diff(tt.want, e.got); diff != "" {
					t.Errorf("fed %d bytes at a time (-want +got):\n%s", step, diff)
				}
			}
		})
	}
}

func TestParserGap(t *testing.T) {
	t.Parallel()
	e := &events{}
	p := newParser(roleRequest, e, 1<<20, true)
	at := func(int) time.Time { return time.Time{} }
	p.feed([]byte("POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nab"), at)
	p.gap(8)
	p.feed([]byte("GET /b HTTP/1.1\r\n\r\n"), at)
	p.end(time.Time{})
	want := []string{"lost gap [0,50)", `GET /b 0 body=""`}
	if diff := cmp.Diff(want, e.got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
