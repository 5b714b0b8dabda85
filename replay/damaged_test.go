package replay

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/cutover/cutover/internal/testbed"
)

// TestDamagedAnswers makes the captures of Zeek's gap cases at test time
// (its traces cannot be fetched here): real traffic captured by tcpdump,
// then one segment of an answer dropped from the file. The request is
// whole in every case, so it is listed (status null, its answer lost) as
// tshark lists it from the same file, and only a comparison with the
// recorded answer would skip it:
//   - 1000-requests-one-dropped-response: 1,000 GETs on one keep-alive
//     connection, one answer's segment dropped;
//   - entity_gap: a 1 MB answer with a segment of its body dropped;
//   - content-range-gap: a 206 answer to a Range request (a net/http
//     origin, NGINX would not make one here) with a body segment dropped;
//   - bro.org: 31 requests over 4 connections, one answer's segment dropped.
func TestDamagedAnswers(t *testing.T) {
	bed := testbed.StartForTest(t, testbed.Config{})
	ranged := rangeServer(t)
	for _, c := range []struct {
		name    string
		addr    string
		traffic func(t *testing.T, addr string)
		// drop is which server segment with payload to drop (counted from 1).
		drop int
	}{
		{"1000-requests-one-dropped-response", bed.Legacy.Addr, func(t *testing.T, addr string) {
			getOn(t, addr, 1, 1000, func(i int) string { return fmt.Sprintf("/api/items/%d", i%50+1) })
		}, 500},
		{"entity_gap", bed.Legacy.Addr, func(t *testing.T, addr string) {
			getOn(t, addr, 1, 1, func(int) string { return "/large" })
		}, 3},
		{"content-range-gap", ranged, func(t *testing.T, addr string) {
			getOn(t, addr, 1, 1, func(int) string { return "/blob" })
		}, 2},
		{"bro.org", bed.Legacy.Addr, func(t *testing.T, addr string) {
			getOn(t, addr, 4, 31, func(i int) string { return fmt.Sprintf("/page?p=%d", i) })
		}, 17},
	} {
		t.Run(c.name, func(t *testing.T) {
			port := bedPort(t, c.addr)
			path := tcpdump(t, port, func() { c.traffic(t, c.addr) })
			n := 0
			data := rewrite(t, path, false, func(_ int, tcp *layers.TCP) bool {
				if len(tcp.Payload) == 0 || int(tcp.SrcPort) != bedPort(t, c.addr) {
					return true
				}
				n++
				return n != c.drop
			})
			if n < c.drop {
				t.Fatalf("only %d server segments with payload: none dropped", n)
			}
			damaged := filepath.Join(t.TempDir(), "damaged.pcap")
			if err := os.WriteFile(damaged, data, 0o644); err != nil {
				t.Fatal(err)
			}
			want := tsharkRequests(t, damaged, port)
			recs, st := readPath(t, damaged, ReadConfig{Responses: true})
			lost := 0
			for _, r := range recs {
				if r.Skip != "" {
					t.Errorf("skipped %q (%s): every request is whole", r.Skip, r.Client)
				}
				if r.ResponseLost != "" {
					lost++
				}
			}
			if st.Requests != want || len(recs) != want {
				t.Errorf("listed %d requests (%d records), tshark lists %d (stats %+v)", st.Requests, len(recs), want, st)
			}
			if lost != 1 || st.ResponsesLost != 1 {
				t.Errorf("%d requests listed with their answer lost, want 1 (stats %+v)", lost, st)
			}
		})
	}
}

// getOn sends n GETs over conns keep-alive connections to addr, path(i)
// for the i-th.
func getOn(t *testing.T, addr string, conns, n int, path func(int) string) {
	t.Helper()
	tr := &http.Transport{MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	done := make(chan error, n)
	sem := make(chan struct{}, conns)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			req, _ := http.NewRequest("GET", "http://"+addr+path(i), nil)
			if strings.HasSuffix(path(i), "/blob") {
				req.Header.Set("Range", "bytes=1000-400000")
			}
			resp, err := client.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			done <- err
		}()
	}
	for range n {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// rangeServer serves /blob, 1 MB, with Range support (net/http's
// ServeContent), until the test ends.
func rangeServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	blob := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(blob))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
