// Command gencap makes a large capture for benchmarks out of a small real
// one: it writes copies of an Ethernet/IPv4 capture one after another in
// time, each copy's client side moved to its own address (10.x.y.2) so that
// every copy's connections are distinct, until the output reaches -size.
// IPv4 header checksums are updated for the new addresses, TCP checksums
// adjusted alike (on loopback they are the kernel's partial ones anyway).
//
//	go run ./scripts/gencap -in replay/testdata/pace.pcap.gz -size 150M -out /tmp/big.pcap
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

type packet struct {
	ci   gopacket.CaptureInfo
	data []byte
}

func main() {
	in := flag.String("in", "", "capture to copy (pcap, gzip or not; Ethernet, IPv4)")
	out := flag.String("out", "", "capture to write")
	size := flag.String("size", "150M", "stop once the output is this big (K, M, G suffixes)")
	flag.Parse()
	if err := run(*in, *out, *size); err != nil {
		fmt.Fprintln(os.Stderr, "gencap:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func load(path string) ([]packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		if r, err = gzip.NewReader(r); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return nil, err
	}
	if pr.LinkType() != layers.LinkTypeEthernet {
		return nil, fmt.Errorf("link type %s: want Ethernet", pr.LinkType())
	}
	var pkts []packet
	for {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return pkts, nil
		}
		if err != nil {
			return nil, err
		}
		pkts = append(pkts, packet{ci, data})
	}
}

// serverPorts are the destination ports of the SYNs: a capture may hold
// connections to several servers.
func serverPorts(pkts []packet) (map[uint16]bool, error) {
	ports := map[uint16]bool{}
	for _, p := range pkts {
		d := p.data
		if len(d) >= 54 && binary.BigEndian.Uint16(d[12:14]) == 0x0800 && d[23] == 6 {
			tcp := d[14+int(d[14]&0x0f)*4:]
			if len(tcp) >= 14 && tcp[13]&0x12 == 0x02 {
				ports[binary.BigEndian.Uint16(tcp[2:4])] = true
			}
		}
	}
	if len(ports) == 0 {
		return nil, errors.New("no SYN in the capture: cannot tell the server")
	}
	return ports, nil
}

// adjust updates a one's-complement checksum for 16-bit words old → new (RFC 1624).
func adjust(sum uint16, old, new []byte) uint16 {
	s := uint32(^sum)
	for i := 0; i+1 < len(old); i += 2 {
		s += uint32(^binary.BigEndian.Uint16(old[i:])) + uint32(binary.BigEndian.Uint16(new[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func run(in, out string, sizeFlag string) error {
	if in == "" || out == "" {
		return errors.New("want -in and -out")
	}
	limit, err := parseSize(sizeFlag)
	if err != nil {
		return fmt.Errorf("invalid -size %q: %w", sizeFlag, err)
	}
	pkts, err := load(in)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(pkts) == 0 {
		return fmt.Errorf("%s: no packets", in)
	}
	servers, err := serverPorts(pkts)
	if err != nil {
		return err
	}
	span := pkts[len(pkts)-1].ci.Timestamp.Sub(pkts[0].ci.Timestamp) + time.Second
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return err
	}
	written := int64(24)
	buf := make([]byte, 0, 1<<16)
	copies := 0
	for k := 0; written < limit; k++ {
		addr := []byte{10, byte(k >> 8), byte(k), 2}
		shift := time.Duration(k) * span
		for _, p := range pkts {
			d := append(buf[:0], p.data...)
			if len(d) >= 34 && binary.BigEndian.Uint16(d[12:14]) == 0x0800 {
				ip := d[14:]
				ihl := int(ip[0]&0x0f) * 4
				at := 12 // the client is the source, unless the server sends
				if ip[9] == 6 && len(ip) >= ihl+4 && servers[binary.BigEndian.Uint16(ip[ihl:])] {
					at = 16
				}
				old := append([]byte(nil), ip[at:at+4]...)
				copy(ip[at:at+4], addr)
				binary.BigEndian.PutUint16(ip[10:], adjust(binary.BigEndian.Uint16(ip[10:]), old, addr))
				if ip[9] == 6 && len(ip) >= ihl+18 {
					binary.BigEndian.PutUint16(ip[ihl+16:], adjust(binary.BigEndian.Uint16(ip[ihl+16:]), old, addr))
				}
			}
			ci := p.ci
			ci.Timestamp = ci.Timestamp.Add(shift)
			if err := w.WritePacket(ci, d); err != nil {
				return err
			}
			written += 16 + int64(len(d))
		}
		copies++
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gencap: %d copies of %s, %d packets, %d MB\n", copies, in, copies*len(pkts), written>>20)
	return f.Close()
}
