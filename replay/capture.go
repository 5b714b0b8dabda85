package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// format is what a file holds, told by its first bytes.
type format uint8

const (
	formatUnknown format = iota
	formatPcap
	formatPcapNG
	formatHAR
)

// input is a source file opened for reading: gzip undone, format told,
// and the offset of what was consumed tracked for error messages.
type input struct {
	count *counter
	br    *bufio.Reader
	gz    bool
	fmt   format
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bufSize is at least pcapgo's own buffer, so that pcapgo reuses ours
// (bufio.NewReader returns a big enough *bufio.Reader as is) and offsets stay exact.
const bufSize = 1 << 16

func openInput(r io.Reader) (*input, error) {
	in := &input{count: &counter{r: r}}
	in.br = bufio.NewReaderSize(in.count, bufSize)
	head, _ := in.br.Peek(4)
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(in.br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		in.gz = true
		in.count = &counter{r: gz}
		in.br = bufio.NewReaderSize(in.count, bufSize)
		head, _ = in.br.Peek(4)
	}
	if len(head) < 4 {
		return nil, errors.New("too short to be a capture")
	}
	switch binary.LittleEndian.Uint32(head) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		in.fmt = formatPcap
	case 0x0a0d0d0a:
		in.fmt = formatPcapNG
	default:
		if first, _ := in.br.Peek(64); bytes.HasPrefix(bytes.TrimLeft(first, " \t\r\n\xef\xbb\xbf"), []byte("{")) {
			in.fmt = formatHAR
		} else {
			return nil, errors.New("not a capture: want pcap, pcapng or HAR (optionally gzip-compressed)")
		}
	}
	return in, nil
}

// offset is the position reached in the (uncompressed) file.
func (in *input) offset() int64 { return in.count.n - int64(in.br.Buffered()) }

// packetSource yields a capture's packets with their link type.
type packetSource interface {
	next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error)
}

type pcapSource struct{ r *pcapgo.Reader }

func (s pcapSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.r.ZeroCopyReadPacketData()
	return data, ci, s.r.LinkType(), err
}

type ngSource struct{ r *pcapgo.NgReader }

func (s ngSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := s.r.ZeroCopyReadPacketData()
	link := s.r.LinkType()
	if len(ci.AncillaryData) > 0 {
		if l, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			link = l
		}
	}
	return data, ci, link, err
}

// packets opens the packet reader for a pcap or pcapng input.
func (in *input) packets() (packetSource, error) {
	if in.fmt == formatPcap {
		r, err := pcapgo.NewReader(in.br)
		if err != nil {
			return nil, err
		}
		if !supported(r.LinkType()) {
			return nil, fmt.Errorf("unsupported link type %d (%s)", r.LinkType(), r.LinkType())
		}
		return pcapSource{r}, nil
	}
	r, err := pcapgo.NewNgReader(in.br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		return nil, err
	}
	return ngSource{r}, nil
}
