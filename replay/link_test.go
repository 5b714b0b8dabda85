package replay

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// relink rewrites an Ethernet capture (tcpdump -i lo) to another link type:
// every frame's IP packet, unchanged, under the header that link type puts
// before it. Loopback can only be captured as Ethernet on Linux, so this is
// how the link types of other systems and of tagged networks are tested on
// real recorded packets.
func relink(t *testing.T, path string, link layers.LinkType, header func(ethType uint16) []byte) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("%s: link type %s, want Ethernet", path, r.LinkType())
	}
	var out bytes.Buffer
	w := pcapgo.NewWriter(&out)
	if err := w.WriteFileHeader(1<<18, link); err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frame := append(header(binary.BigEndian.Uint16(data[12:14])), data[14:]...)
		ci.CaptureLength, ci.Length = len(frame), len(frame)
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// family is a BSD loopback header's address family for an EtherType.
func family(ethType uint16, ip6 uint32) uint32 {
	if ethType == uint16(layers.EthernetTypeIPv6) {
		return ip6
	}
	return 2 // AF_INET everywhere
}

// TestLinkTypes reads curl.pcap (IPv4 and IPv6, keep-alive, pipelining,
// chunked, 1 MB answer) rewritten to every other link type the reader
// supports: exactly the access log's requests come out of each.
func TestLinkTypes(t *testing.T) {
	t.Parallel()
	mac := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}
	tag := func(tpid uint16, vlan uint16) []byte {
		return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, tpid), vlan)
	}
	tests := []struct {
		name   string
		link   layers.LinkType
		header func(ethType uint16) []byte
	}{
		{"vlan", layers.LinkTypeEthernet, func(e uint16) []byte {
			return binary.BigEndian.AppendUint16(append(append([]byte{}, mac...), tag(0x8100, 42)...), e)
		}},
		{"q-in-q", layers.LinkTypeEthernet, func(e uint16) []byte {
			h := append(append([]byte{}, mac...), tag(0x88a8, 100)...)
			return binary.BigEndian.AppendUint16(append(h, tag(0x8100, 42)...), e)
		}},
		{"null little-endian (DLT_NULL, Darwin AF_INET6)", layers.LinkTypeNull, func(e uint16) []byte {
			return binary.LittleEndian.AppendUint32(nil, family(e, 30))
		}},
		{"null big-endian (FreeBSD AF_INET6)", layers.LinkTypeNull, func(e uint16) []byte {
			return binary.BigEndian.AppendUint32(nil, family(e, 28))
		}},
		{"loop (DLT_LOOP, OpenBSD)", layers.LinkTypeLoop, func(e uint16) []byte {
			return binary.BigEndian.AppendUint32(nil, family(e, 24))
		}},
		{"raw IP (LINKTYPE_RAW)", layers.LinkTypeRaw, func(uint16) []byte { return nil }},
		{"raw IP (DLT_RAW 12)", linkRawBSD, func(uint16) []byte { return nil }},
		{"raw IP (DLT_RAW 14)", linkRawLinux, func(uint16) []byte { return nil }},
		{"linux SLL (v1)", layers.LinkTypeLinuxSLL, func(e uint16) []byte {
			h := []byte{0, 0, 0x03, 0x04, 0, 6} // to us, ARPHRD_LOOPBACK, 6-byte address
			h = append(h, 0, 0, 0, 0, 0, 0, 0, 0)
			return binary.BigEndian.AppendUint16(h, e)
		}},
	}
	path := filepath.Join("testdata", "curl.pcap")
	want, n := accessLog(t, filepath.Join("testdata", "curl.access.log"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, st := readAll(t, tt.name, relink(t, path, tt.link, tt.header))
			got, m := found(recs)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("requests by connection (-want +got):\n%s", diff)
			}
			if m != n || st.NotTCP != 0 || len(st.Skipped) != 0 {
				t.Errorf("found %d requests of %d; stats %+v", m, n, st)
			}
		})
	}
}

// TestTruncated reads a capture made with tcpdump -s 96: every packet with
// data was cut by the snap length. Truncated packets are counted, the
// requests they cut are skipped as gap, and nothing is invented.
func TestTruncated(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "snap.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	_, n := accessLog(t, filepath.Join("testdata", "snap.access.log"))
	_, st := readAll(t, "snap.pcap", data)
	got := struct {
		Truncated, Requests int
		Skipped             map[string]int
	}{st.Truncated, st.Requests, st.Skipped}
	want := got
	want.Truncated, want.Requests, want.Skipped = 6, 0, map[string]int{ReasonGap: n}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
