package upstream

import (
	"io"
	"net"
	"syscall"
	"time"
	"unsafe"
)

// stampConn reads a TCP connection with recvmsg and keeps the kernel's
// receive timestamp (SO_TIMESTAMPNS) of the last bytes read: when they
// reached this host, not when a goroutine got round to reading them. On a
// busy machine the wait for the scheduler is most of a loopback answer's
// time, and it falls unevenly on the two sides of an exchange (the one
// that answers second waits behind the first); the kernel's clock does
// not. Where timestamps are not available the sender falls back to the
// time of the read.
type stampConn struct {
	net.Conn
	raw  syscall.RawConn
	oob  []byte
	last time.Time // arrival of the last bytes read; zero when unknown
}

// withStamps returns c wrapped to take receive timestamps, or nil when the
// connection cannot give them.
func withStamps(c net.Conn) *stampConn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return nil
	}
	return &stampConn{Conn: c, raw: raw, oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}
}

func (c *stampConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n, oobn int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, c.oob, 0)
		return rerr != syscall.EAGAIN
	})
	switch {
	case err != nil:
		return 0, err // a deadline or a closed connection
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: rerr}
	case n == 0:
		return 0, io.EOF
	}
	if ts, ok := parseStamp(c.oob[:oobn]); ok {
		c.last = ts
	}
	return n, nil
}

// parseStamp finds an SCM_TIMESTAMPNS message in oob.
func parseStamp(oob []byte) (time.Time, bool) {
	hdr := int(unsafe.Sizeof(syscall.Cmsghdr{}))
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return time.Time{}, false
		}
		data := oob[syscall.CmsgLen(0):l]
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&data[0]))
			return time.Unix(ts.Sec, ts.Nsec), true
		}
		oob = oob[min(syscall.CmsgSpace(l-syscall.CmsgLen(0)), len(oob)):]
	}
	return time.Time{}, false
}

// since is the time from start to the kernel's stamp, when there is one
// that makes sense (not before start, not after the read that saw it).
func (c *stampConn) since(start time.Time, read time.Duration) (time.Duration, bool) {
	if c == nil || c.last.IsZero() {
		return 0, false
	}
	d := c.last.Sub(start.Round(0)) // wall clock: the kernel's is CLOCK_REALTIME
	if d < 0 || d > read {
		return 0, false
	}
	return d, true
}
