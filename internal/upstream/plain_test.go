package upstream

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/diff"
)

// cannedTarget answers every request on a connection with the next of
// answers, written as given, and then holds the connection open until the
// test ends; it returns the target's URL.
func cannedTarget(t *testing.T, answers ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for _, a := range answers {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					io.WriteString(conn, a)
				}
				<-done
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// The plain sender reads answers of every framing on one connection, and
// gives a clear error, without waiting for its timeout, for a malformed one.
func TestPlainAnswersInTurn(t *testing.T) {
	t.Parallel()
	type got struct {
		Status int
		Body   string
		Err    string
	}
	tests := []struct {
		name    string
		method  string
		answers []string
		want    []got
	}{
		{"keep-alive across framings", "GET", []string{
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
			"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
		}, []got{{200, "ok", ""}, {200, "abc", ""}, {204, "", ""}, {304, "", ""}}},
		{"HEAD without body", "HEAD", []string{
			"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
		}, []got{{200, "", ""}, {200, "", ""}}},
		{"malformed status line", "GET", []string{"HTTP/1.1 OK\r\n\r\n"},
			[]got{{0, "", `malformed HTTP status code "OK"`}}},
		{"malformed header", "GET", []string{"HTTP/1.1 200 OK\r\nX-Bad\r\n"},
			[]got{{0, "", `malformed MIME header: missing colon: "X-Bad"`}}},
		{"bad chunk", "GET", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n"},
			[]got{{200, "", "reading body: invalid byte in chunk length"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := mustURL(t, cannedTarget(t, tt.answers...))
			c := New(Config{Timeout: 10 * time.Second, MaxConnsPerTarget: 1})
			defer c.Close()
			start := time.Now()
			var gots []got
			for range tt.want {
				r := c.Do(context.Background(), base, &diff.Request{Method: tt.method, URI: "/"})
				gots = append(gots, got{r.Status, string(r.Body), r.Err})
			}
			if d := cmp.Diff(tt.want, gots); d != "" {
				t.Errorf("answers (-want +got):\n%s", d)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v: waited for the timeout", elapsed)
			}
		})
	}
}

// A request is written as one HTTP/1.1 message: hop-by-hop headers of the
// capture dropped, CR and LF in values made spaces, configured headers
// added, Content-Length when there is a body.
func TestAppendRequest(t *testing.T) {
	t.Parallel()
	p := newPlainPool(Config{Header: http.Header{"X-Cutover-Shadow": {"1"}}})
	req := &diff.Request{Method: "POST", URI: "/a?b=1", Host: "shop.example",
		Header: http.Header{"Connection": {"close"}, "X-Multi": {"a\r\nInjected: 1"}}, Body: []byte("xyz")}
	if err := checkRequest("/prefix", req); err != nil {
		t.Fatal(err)
	}
	got := string(p.appendRequest(nil, "/prefix", "target:80", req, nil))
	want := "POST /prefix/a?b=1 HTTP/1.1\r\nHost: shop.example\r\nX-Multi: a  Injected: 1\r\nX-Cutover-Shadow: 1\r\nContent-Length: 3\r\n\r\nxyz"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("wire (-want +got):\n%s", d)
	}
	for _, bad := range []*diff.Request{{Method: "GET", URI: "nopath"}, {Method: "G T", URI: "/"}, {Method: "GET", URI: "/a b"}} {
		if err := checkRequest("", bad); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("checkRequest(%q %q) = %v, want a one-line error", bad.Method, bad.URI, err)
		}
	}
}
