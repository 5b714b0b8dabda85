package testbed

import (
	"fmt"
	"net"
	"strconv"
)

// freePort asks the kernel for a free TCP port on host. Another process may
// take it before the caller binds it; callers that cannot hand over a
// listener (NGINX) retry on "address in use".
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ipv6Available reports whether [::1]:port can be bound here.
func ipv6Available(port int) bool {
	l, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
