package diff

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseResponseFile(t *testing.T) {
	t.Parallel()
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tests := []struct {
		name string
		in   string
		want *Response
	}{
		{"curl -i, CRLF",
			crlf("HTTP/1.1 200 OK\nContent-Type: application/json\nX-Multi: a\nX-Multi: b\n\n") + `{"a":1}` + "\r\n",
			&Response{Status: 200, Proto: "HTTP/1.1",
				Header: http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}}, Body: []byte(`{"a":1}` + "\r\n")}},
		{"LF only",
			"HTTP/1.0 404 Not Found\nServer: x\n\nnope",
			&Response{Status: 404, Proto: "HTTP/1.0", Header: http.Header{"Server": {"x"}}, Body: []byte("nope")}},
		{"HTTP/2 without reason, lower-case names",
			"HTTP/2 201 \r\ncontent-type: text/plain\r\nx-request-id: 7\r\n\r\nmade",
			&Response{Status: 201, Proto: "HTTP/2",
				Header: http.Header{"Content-Type": {"text/plain"}, "X-Request-Id": {"7"}}, Body: []byte("made")}},
		{"100 Continue first",
			crlf("HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nX-A: 1\n\n") + "done",
			&Response{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"X-A": {"1"}}, Body: []byte("done")}},
		{"redirects followed by curl -L",
			crlf("HTTP/1.1 301 Moved Permanently\nLocation: /b\n\nHTTP/1.1 302 Found\nLocation: /c\n\nHTTP/2 200\nX-Final: yes\n\n") + "body",
			&Response{Status: 200, Proto: "HTTP/2", Header: http.Header{"X-Final": {"yes"}}, Body: []byte("body")}},
		{"body that starts like a status line but is not one",
			"HTTP/1.1 200 OK\n\nHTTP/ is a protocol",
			&Response{Status: 200, Proto: "HTTP/1.1", Header: http.Header{}, Body: []byte("HTTP/ is a protocol")}},
		{"headers only (curl -I)",
			crlf("HTTP/1.1 204 No Content\nX-A: 1\n\n"),
			&Response{Status: 204, Proto: "HTTP/1.1", Header: http.Header{"X-A": {"1"}}, Body: []byte{}}},
		{"headers cut before the blank line",
			"HTTP/1.1 200 OK\nX-A: 1",
			&Response{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"X-A": {"1"}}, Body: []byte{}}},
		{"folded header",
			"HTTP/1.1 200 OK\nX-Long: a\n  b\n\n",
			&Response{Status: 200, Proto: "HTTP/1.1", Header: http.Header{"X-Long": {"a b"}}, Body: []byte{}}},
		{"bare JSON body", `{"a":1}`, &Response{Body: []byte(`{"a":1}`)}},
		{"empty file", "", &Response{Body: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseResponseFile([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseResponseFile (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseResponseFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"no status code", "HTTP/1.1 OK\n\n", `bad status line "HTTP/1.1 OK": want HTTP/<version> <3-digit code> [reason]`},
		{"status too small", "HTTP/1.1 099 Odd\n\n", `bad status line "HTTP/1.1 099 Odd": want HTTP/<version> <3-digit code> [reason]`},
		{"malformed header", "HTTP/1.1 200 OK\nno colon here\n\n", `headers after "HTTP/1.1 200 OK": malformed MIME header: missing colon: "no colon here"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseResponseFile([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseResponseFile(%q) succeeded, want %q", tt.in, tt.want)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), "\n") || err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("error %q is not a lower-case one-liner", err)
			}
		})
	}
}

func FuzzParseResponseFile(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/2 200\r\nx-a: 1\r\n\r\nbody"))
	f.Add([]byte("HTTP/1.1 200 OK\nX-Long: a\n  b\n\nHTTP/1.1 200"))
	f.Add([]byte("plain body"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseResponseFile(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has several lines: %q", err)
			}
			return
		}
		if r.Status != 0 && (r.Status < 100 || r.Status > 999) {
			t.Errorf("status %d out of range", r.Status)
		}
		if len(r.Body) > len(data) {
			t.Errorf("body longer than the input")
		}
		// Whatever was read must compare equal to itself.
		if d := NewComparer(nil).Compare(r, r); d != nil {
			t.Errorf("an answer differs from itself: %v", d)
		}
	})
}
