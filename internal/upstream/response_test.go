package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// answer is what the plain sender keeps of one answer, and what is left
// on the connection after it.
type answer struct {
	Status    int
	Proto     string
	Header    http.Header
	Trailer   http.Header
	Body      string
	Truncated bool
	Reusable  bool
	Rest      string // bytes after the answer
}

// readLean reads an answer to method from raw with readHead and readBody,
// as the plain sender does.
func readLean(raw []byte, method string, limit int64) (answer, error) {
	br := bufio.NewReaderSize(bytes.NewReader(raw), 16<<10)
	var (
		h   head
		buf []byte
		err error
	)
	for {
		if h, buf, err = readHead(br, buf, method); err != nil {
			return answer{}, err
		}
		if h.status >= 200 || h.status == http.StatusSwitchingProtocols {
			break
		}
	}
	body, truncated, err := readBody(br, &h, limit)
	if err != nil {
		return answer{}, err
	}
	rest, _ := io.ReadAll(br)
	return answer{Status: h.status, Proto: h.proto, Header: h.header, Trailer: h.trailer, Body: string(body),
		Truncated: truncated, Reusable: !h.close && h.status != http.StatusSwitchingProtocols, Rest: string(rest)}, nil
}

// readStd reads the same with http.ReadResponse, as the plain sender did
// before it had its own reader; low says an answer had a status under 100.
func readStd(raw []byte, method string, limit int64) (a answer, low bool, err error) {
	br := bufio.NewReaderSize(bytes.NewReader(raw), 16<<10)
	var resp *http.Response
	for {
		if resp, err = http.ReadResponse(br, &http.Request{Method: method}); err != nil {
			return answer{}, low, err
		}
		low = low || resp.StatusCode < 100
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	var body bytes.Buffer
	_, err = io.Copy(&body, io.LimitReader(resp.Body, limit))
	var dropped int64
	if err == nil {
		dropped, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return answer{}, low, err
	}
	rest, _ := io.ReadAll(br)
	return answer{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Trailer: resp.Trailer, Body: body.String(),
		Truncated: dropped > 0, Reusable: !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols, Rest: string(rest)}, low, nil
}

func TestReadAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		raw    string
		method string
		limit  int64
		want   answer
		err    string // part of the error, when one is expected
	}{
		{name: "content length, keep-alive",
			raw:  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloNEXT",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"5"}}, Body: "hello", Reusable: true, Rest: "NEXT"}},
		{name: "keys made canonical, values trimmed, repeats kept in order",
			raw:  "HTTP/1.1 200 OK\r\nx-edge-time:  12 \r\nSET-COOKIE: a=1\r\nSet-Cookie: b=2\r\ncontent-length: 0\r\n\r\n",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"X-Edge-Time": {"12"}, "Set-Cookie": {"a=1", "b=2"}, "Content-Length": {"0"}}, Reusable: true}},
		{name: "bare LF line endings and no reason phrase",
			raw:  "HTTP/1.1 204\nDate: x\n\n",
			want: answer{Status: 204, Proto: "HTTP/1.1", Header: http.Header{"Date": {"x"}}, Reusable: true}},
		{name: "folded line joined by one space",
			raw:  "HTTP/1.1 200 OK\r\nX-Long: a\r\n \t b \r\nContent-Length: 0\r\n\r\n",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"X-Long": {"a b"}, "Content-Length": {"0"}}, Reusable: true}},
		{name: "chunked with trailer: framing headers removed",
			raw:  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\nContent-Length: 99\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Sum: 5\r\n\r\nNEXT",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{}, Trailer: http.Header{"X-Sum": {"5"}}, Body: "abcde", Reusable: true, Rest: "NEXT"}},
		{name: "1xx answers skipped",
			raw:  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"Content-Length": {"2"}}, Body: "ok", Reusable: true}},
		{name: "HEAD has no body whatever its length",
			raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nNEXT", method: "HEAD",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"Content-Length": {"100"}}, Reusable: true, Rest: "NEXT"}},
		{name: "304 has no body",
			raw:  "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\nNEXT",
			want: answer{Status: 304, Proto: "HTTP/1.1", Header: http.Header{}, Reusable: true, Rest: "NEXT"}},
		{name: "no length: body to close, Connection: close removed",
			raw:  "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{}, Body: "all of it"}},
		{name: "HTTP/1.0 closes unless keep-alive",
			raw:  "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
			want: answer{Status: 200, Proto: "HTTP/1.0", Header: http.Header{"Content-Length": {"1"}}, Body: "x"}},
		{name: "Pragma no-cache stands for Cache-Control",
			raw:  "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"Pragma": {"no-cache"}, "Cache-Control": {"no-cache"}, "Content-Length": {"0"}}, Reusable: true}},
		{name: "body over the cap truncated, the rest read",
			raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789NEXT", limit: 4,
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"Content-Length": {"10"}}, Body: "0123", Truncated: true, Reusable: true, Rest: "NEXT"}},
		{name: "chunked body over the cap",
			raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n", limit: 4,
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{}, Body: "abcd", Truncated: true, Reusable: true}},
		{name: "101 ends the connection",
			raw:  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
			want: answer{Status: 101, Proto: "HTTP/1.1", Header: http.Header{"Upgrade": {"websocket"}}}},
		{name: "equal Content-Lengths become one",
			raw:  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1 \r\n\r\nx",
			want: answer{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"Content-Length": {"1"}}, Body: "x", Reusable: true}},

		{name: "empty", raw: "", err: "EOF"},
		{name: "not HTTP", raw: "SSH-2.0-OpenSSH\r\n\r\n", err: "malformed HTTP response"},
		{name: "bad version", raw: "HTTQ/1.1 200 OK\r\n\r\n", err: "malformed HTTP version"},
		{name: "bad status", raw: "HTTP/1.1 2x0 OK\r\n\r\n", err: "malformed HTTP status code"},
		{name: "status under 100", raw: "HTTP/1.1 099 Odd\r\n\r\n", err: "malformed HTTP status code"},
		{name: "missing colon", raw: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", err: "missing colon"},
		{name: "space first", raw: "HTTP/1.1 200 OK\r\n X: y\r\n\r\n", err: "initial line"},
		{name: "bad key", raw: "HTTP/1.1 200 OK\r\nX(y): z\r\n\r\n", err: "malformed MIME header line"},
		{name: "control byte in value", raw: "HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", err: "malformed MIME header line"},
		{name: "headers cut short", raw: "HTTP/1.1 200 OK\r\nX: y\r\n", err: "unexpected EOF"},
		{name: "body cut short", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", err: "unexpected EOF"},
		{name: "different Content-Lengths", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", err: "multiple Content-Length"},
		{name: "bad Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: "bad Content-Length"},
		{name: "unsupported coding", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", err: "unsupported transfer encoding"},
		{name: "bad chunk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: "invalid byte in chunk length"},
		{name: "bad trailer key", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n", err: "bad trailer key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method, limit := tt.method, tt.limit
			if method == "" {
				method = "GET"
			}
			if limit == 0 {
				limit = 1 << 20
			}
			got, err := readLean([]byte(tt.raw), method, limit)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one with %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != "":
				return
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("answer (-want +got):\n%s", d)
			}
			// What http.ReadResponse makes of the same bytes.
			std, _, err := readStd([]byte(tt.raw), method, limit)
			if err != nil {
				t.Fatalf("http.ReadResponse: %v", err)
			}
			if d := cmp.Diff(std, got); d != "" {
				t.Errorf("against http.ReadResponse (-std +lean):\n%s", d)
			}
		})
	}
}

// A header section longer than the read buffer is read whole.
func TestReadHeadLongerThanBuffer(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("v", 40<<10)
	raw := "HTTP/1.1 200 OK\r\nX-Long: " + long + "\r\nContent-Length: 0\r\n\r\n"
	got, err := readLean([]byte(raw), "GET", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("X-Long") != long {
		t.Errorf("X-Long has %d bytes, want %d", len(got.Header.Get("X-Long")), len(long))
	}
}

// FuzzReadHead: the plain sender's reader gives what http.ReadResponse
// gives for any bytes: the same answer when both read one, an error when
// http.ReadResponse gives one, and an error besides only for a status
// under 100. It never panics, and errors are one line.
func FuzzReadHead(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 5\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nx-a: 1\r\n  folded\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 099 x\r\n\r\n",
		"HTTP/1.1 200 OK\nPragma: no-cache\nKey With Space: v\n\n",
	} {
		f.Add([]byte(seed), false, uint16(0))
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"), true, uint16(2))
	f.Fuzz(func(t *testing.T, raw []byte, head bool, limit uint16) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		lim := int64(limit) + 1
		got, err := readLean(raw, method, lim)
		if err != nil && strings.ContainsRune(err.Error(), '\n') {
			t.Errorf("error on more than one line: %q", err)
		}
		want, low, stdErr := readStd(raw, method, lim)
		switch {
		case stdErr != nil && err == nil:
			t.Fatalf("http.ReadResponse: %v; lean reader: no error", stdErr)
		case stdErr == nil && err != nil && !low && !errors.Is(err, errHeadTooLong):
			t.Fatalf("lean reader: %v; http.ReadResponse: no error", err)
		case stdErr == nil && err == nil:
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-http.ReadResponse +lean):\n%s", d)
			}
		}
	})
}
