package tap

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// TestTapReusedPorts: clients opening a new connection per request from
// the same few ports (each 4-tuple back within milliseconds, onto NGINX's
// TIME_WAIT or after a reset) are compared request for request with the
// access log, live.
func TestTapReusedPorts(t *testing.T) {
	testbed.NeedRoot(t)
	bed := testbed.StartForTest(t, testbed.Config{EdgeCandidate: itemSeven})
	res := NewResults(diff.AggregatorConfig{}, false)
	stop := startLiveTap(t, bed, res)
	if err := os.Truncate(bed.Legacy.AccessLog, 0); err != nil {
		t.Fatal(err)
	}
	var clients sync.WaitGroup
	for c := range 8 {
		clients.Go(func() {
			port := 0
			for i := range 25 {
				conn, err := dialFrom(bed.Legacy.Addr, port)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				port = conn.LocalAddr().(*net.TCPAddr).Port
				hdr := "Connection: close\r\n"
				if c%2 == 0 {
					hdr = ""
				}
				fmt.Fprintf(conn, "GET /api/items/%d HTTP/1.1\r\nHost: reuse\r\n%s\r\n", i%10+1, hdr)
				if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if c%2 == 0 {
					conn.(*net.TCPConn).SetLinger(0) // a reset
				}
				conn.Close()
			}
		})
	}
	clients.Wait()
	items, _ := itemsLog(t, bed.Legacy.AccessLog)
	for last, i := int64(-1), 0; i < 40; i++ {
		time.Sleep(500 * time.Millisecond)
		c, _ := res.main.Counts()
		if c.Requests == last && c.Requests >= int64(items) {
			break
		}
		last = c.Requests
	}
	stop()
	s := res.Summary()
	if err := s.Counts.Check(); err != nil {
		t.Error(err)
	}
	if s.Counts.Requests != int64(items) || s.Counts.Compared != int64(items) {
		t.Errorf("counts %+v, access log %d: want every request compared, none skipped", s.Counts, items)
	}
}

// dialFrom connects to addr from local port port (0: any), the port
// reusable at once.
func dialFrom(addr string, port int) (net.Conn, error) {
	d := net.Dialer{
		Timeout:   2 * time.Second,
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port},
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			}); err != nil {
				return err
			}
			return serr
		},
	}
	return d.Dial("tcp4", addr)
}
