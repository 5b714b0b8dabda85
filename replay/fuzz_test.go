package replay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzRead: no input makes the reader panic or hang; errors are one line;
// a read spread over shards finds what a read on one goroutine finds.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"any.pcap", "browser.har"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var one, sharded []string
		st, err := Read(context.Background(), bytes.NewReader(data), "fuzz", ReadConfig{Responses: true}, func(r *Record) error {
			one = append(one, r.Client+" "+r.Request.Method+" "+r.Request.URI+" "+r.Skip)
			return nil
		})
		if err != nil && bytes.ContainsRune([]byte(err.Error()), '\n') {
			t.Errorf("error on more than one line: %q", err)
		}
		st2, err2 := Read(context.Background(), bytes.NewReader(data), "fuzz", ReadConfig{Responses: true, Workers: 2}, func(r *Record) error {
			sharded = append(sharded, r.Client+" "+r.Request.Method+" "+r.Request.URI+" "+r.Skip)
			return nil
		})
		if diff := cmp.Diff(one, sharded); diff != "" || fmt.Sprint(err) != fmt.Sprint(err2) || fmt.Sprint(st) != fmt.Sprint(st2) {
			t.Errorf("sharded read differs: records (-one +sharded):\n%s\nerrors %v / %v, stats %+v / %+v", diff, err, err2, st, st2)
		}
	})
}

// FuzzParser: both parsers take any bytes, cut anywhere, without panicking,
// and account for every byte.
func FuzzParser(f *testing.F) {
	f.Add([]byte("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n"), uint16(7), true)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), uint16(30), false)
	f.Add([]byte("GET / HTTP/1.0\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"), uint16(3), true)
	f.Fuzz(func(t *testing.T, data []byte, cut uint16, request bool) {
		r := roleResponse
		if request {
			r = roleRequest
		}
		for _, started := range []bool{true, false} {
			e := &events{methods: []string{"GET", "HEAD", "POST", "CONNECT"}}
			p := newParser(r, e, 1<<10, started)
			at := func(int) time.Time { return time.Time{} }
			c := min(int(cut), len(data))
			p.feed(data[:c], at)
			p.gap(int64(cut % 3))
			p.feed(data[c:], at)
			if want := int64(len(data)) + int64(cut%3); p.pos != want && p.st != stDead && p.st != stHold {
				t.Errorf("position %d after %d bytes", p.pos, want)
			}
			p.end(time.Time{})
		}
	})
}
