package replay

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testbed"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// seen is what the oracle (NGINX's access log) and the reader both know
// of a request.
type seen struct {
	Method, URI string
	Status      int
}

// accessLog reads an access log of the test bed, by client connection.
// A request NGINX put no byte of an answer on the wire for has status 0,
// as a capture shows it.
func accessLog(t *testing.T, path string) (map[string][]seen, int) {
	t.Helper()
	byConn := map[string][]seen{}
	lines := testbed.ReadAccessLogForTest(t, path)
	for _, l := range lines {
		if !l.Answered() {
			l.Status = 0
		}
		byConn[l.Client] = append(byConn[l.Client], seen{l.Method, l.URI, l.Status})
	}
	return byConn, len(lines)
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
	for _, c := range []struct {
		capture, log string
		skipped      map[string]int
	}{
		{"curl.pcap", "curl.access.log", nil}, // keep-alive, chunked upload, 100-continue, HEAD, 1.0, IPv6, gzip, 1 MB, pipelining
		{"wrk.pcap.gz", "wrk.access.log", nil},
		{"any.pcap", "any.access.log", nil},                                            // -i any: LINUX_SLL2, nanosecond timestamps
		{"pace.pcap.gz", "pace.access.log.gz", nil},                                    // 2,000 req/s over 16 connections
		{"other.pcap", "other.access.log", map[string]int{ReasonTLS: 1, ReasonSSH: 1}}, // curl to openssl s_server, ssh to a banner socket
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
			if m != n || st.Requests != n {
				t.Errorf("found %d requests (stats %+v), access log has %d", m, st, n)
			}
			if diff := cmp.Diff(c.skipped, st.Skipped, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
			for i := 1; i < len(recs); i++ {
				if recs[i].Time.Before(recs[i-1].Time) && recs[i].Client == recs[i-1].Client {
					t.Errorf("record %d out of capture order: %v before %v", i, recs[i].Time, recs[i-1].Time)
				}
			}
		})
	}
}
