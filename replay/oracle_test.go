package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seen is what the oracle (NGINX's access log) and the reader both know
// of a request.
type seen struct {
	Method, URI string
	Status      int
}

// accessLog reads an access log of the test bed, by client connection.
func accessLog(t *testing.T, path string) (map[string][]seen, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byConn := map[string][]seen{}
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			Client, Method, URI string
			Status              int
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		byConn[l.Client] = append(byConn[l.Client], seen{l.Method, l.URI, l.Status})
		n++
	}
	return byConn, n
}

// nginxClient writes a client address as NGINX's $remote_addr:$remote_port does.
func nginxClient(addr string) string {
	return strings.NewReplacer("[", "", "]", "").Replace(addr)
}

// readAll reads a capture from memory and returns its records.
func readAll(t *testing.T, name string, data []byte) ([]*Record, Stats) {
	t.Helper()
	var recs []*Record
	st, err := Read(context.Background(), bytes.NewReader(data), name, ReadConfig{Responses: true}, func(r *Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return recs, st
}

func found(recs []*Record) (map[string][]seen, int) {
	byConn := map[string][]seen{}
	n := 0
	for _, r := range recs {
		if r.Skip != "" {
			continue
		}
		s := seen{Method: r.Request.Method, URI: r.Request.URI}
		if r.Response != nil {
			s.Status = r.Response.Status
		}
		byConn[nginxClient(r.Client)] = append(byConn[nginxClient(r.Client)], s)
		n++
	}
	return byConn, n
}

// TestCapturesMatchAccessLog checks the reader against NGINX's own record
// of the captured traffic: exactly its requests, in order on every
// connection, with the same method, URI and status.
func TestCapturesMatchAccessLog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ capture, log string }{
		{"curl.pcap", "curl.access.log"}, // keep-alive, chunked upload, 100-continue, HEAD, 1.0, IPv6, gzip, 1 MB, pipelining
		{"wrk.pcap.gz", "wrk.access.log"},
		{"any.pcap", "any.access.log"}, // -i any: LINUX_SLL2, nanosecond timestamps
	} {
		t.Run(c.capture, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", c.capture))
			if err != nil {
				t.Fatal(err)
			}
			want, n := accessLog(t, filepath.Join("testdata", c.log))
			recs, st := readAll(t, c.capture, data)
			got, m := found(recs)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("requests by connection (-want +got):\n%s", diff)
			}
			if m != n || st.Requests != n || len(st.Skipped) != 0 {
				t.Errorf("found %d requests (stats %+v), access log has %d", m, st, n)
			}
			for i := 1; i < len(recs); i++ {
				if recs[i].Time.Before(recs[i-1].Time) && recs[i].Client == recs[i-1].Client {
					t.Errorf("record %d out of capture order: %v before %v", i, recs[i].Time, recs[i-1].Time)
				}
			}
		})
	}
}
