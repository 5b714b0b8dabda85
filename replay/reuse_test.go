package replay

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/testbed"
)

func bedPort(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// TestReusedPorts captures clients opening a new connection per request
// on the same few client ports, so that every 4-tuple comes back within
// milliseconds: after NGINX closed (Connection: close, a SYN onto its
// TIME_WAIT) or after the client reset the connection. inspect's reading
// and a replay find exactly the requests of NGINX's access log, each on
// its own stream, and no phantom gap. wrk -H 'Connection: close' on top
// reuses ports the way the kernel hands them out.
func TestReusedPorts(t *testing.T) {
	testbed.NeedPrograms(t, "wrk")
	wrk := "wrk"
	bed := testbed.StartForTest(t, testbed.Config{})
	path := tcpdump(t, bedPort(t, bed.Legacy.Addr), func() {
		truncateLog(t, bed.Legacy.AccessLog) // each try's own
		reuseClients(t, bed.Legacy.Addr, 12, 40)
		run(t, wrk, "-t1", "-c4", "-d1s", "-H", "Connection: close", bed.Legacy.URL+"/api/items/1")
	})
	want, n := accessLog(t, bed.Legacy.AccessLog) // wrk leaves some unanswered
	recs, st := readPath(t, path, ReadConfig{Responses: true})
	got, m := found(recs)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests by client address (-want +got):\n%s", diff)
	}
	if m != n || len(st.Skipped) != 0 || st.Streams < n {
		t.Errorf("found %d requests on %d streams (skipped %v), access log has %d", m, st.Streams, st.Skipped, n)
	}
	reused := map[string]int{}
	for _, r := range recs {
		reused[r.Client]++
	}
	if len(reused) == len(recs) {
		t.Fatalf("no client port was reused in %d connections: the test proves nothing", len(recs))
	}

	counts, _ := replayAgainst(t, context.Background(), bed, path, 0)
	if counts.Requests != int64(n) || counts.Compared != int64(n) {
		t.Errorf("replay counted %+v, access log has %d", counts, n)
	}
}

// reuseClients runs clients goroutines, each sending n requests from one
// client port of its own, one connection per request: odd clients ask
// NGINX to close, even ones reset the connection (SO_LINGER 0) once the
// answer is read.
func reuseClients(t *testing.T, addr string, clients, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			var port int
			for i := 0; i < n; i++ {
				conn, err := dialFrom(addr, port)
				if err != nil {
					time.Sleep(10 * time.Millisecond) // the 4-tuple is not free yet
					continue
				}
				port = conn.LocalAddr().(*net.TCPAddr).Port
				reset := c%2 == 0
				hdr := "Connection: close\r\n"
				if reset {
					hdr = ""
				}
				fmt.Fprintf(conn, "GET /api/items/%d?c=%d HTTP/1.1\r\nHost: reuse\r\n%s\r\n", i+1, c, hdr)
				if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if reset {
					conn.(*net.TCPConn).SetLinger(0)
				}
				conn.Close()
			}
		})
	}
	wg.Wait()
}

// dialFrom connects to addr from local port port (0: any).
func dialFrom(addr string, port int) (net.Conn, error) {
	d := net.Dialer{
		Timeout:   2 * time.Second,
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port},
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	return d.Dial("tcp4", addr)
}
