package replay

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// rewrite copies a pcap (gzip or not), keeping the packets keep says to,
// as pcap or pcapng.
func rewrite(t *testing.T, path string, ng bool, keep func(i int, tcp *layers.TCP) bool) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var in io.Reader = f
	if filepath.Ext(path) == ".gz" {
		if in, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var write func(gopacket.CaptureInfo, []byte) error
	var flush func() error
	if ng {
		w, err := pcapgo.NewNgWriter(&out, r.LinkType())
		if err != nil {
			t.Fatal(err)
		}
		write, flush = w.WritePacket, w.Flush
	} else {
		w := pcapgo.NewWriterNanos(&out)
		if err := w.WriteFileHeader(65536*4, r.LinkType()); err != nil {
			t.Fatal(err)
		}
		write = w.WritePacket
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.NoCopy)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp != nil && !keep(i, tcp) {
			continue
		}
		if err := write(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if flush != nil {
		if err := flush(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// TestLoss drops segments from good captures: a request they hit is
// counted as gap, a request whose answer they hit is still found (without
// its answer), and every other one is found, right.
func TestLoss(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		capture, log string
		every        int
	}{
		{"wrk.pcap.gz", "wrk.access.log", 41},
		{"wrk.pcap.gz", "wrk.access.log", 97},
		{"curl.pcap", "curl.access.log", 7},
	} {
		t.Run(c.capture, func(t *testing.T) {
			t.Parallel()
			n := 0
			dropped := 0
			data := rewrite(t, filepath.Join("testdata", c.capture), false, func(_ int, tcp *layers.TCP) bool {
				if len(tcp.Payload) == 0 {
					return true
				}
				n++
				if n%c.every == 0 {
					dropped++
					return false
				}
				return true
			})
			want, total := accessLog(t, filepath.Join("testdata", c.log))
			recs, st := readAll(t, c.capture, data)
			got, m := found(recs)
			for conn, g := range got {
				if !subsequence(g, want[conn]) {
					t.Errorf("connection %s: found requests are not the access log's (-want +got):\n%s", conn, cmp.Diff(want[conn], g))
				}
			}
			gaps := st.Skipped[ReasonGap]
			if gaps == 0 || m >= total || st.ResponsesLost == 0 {
				t.Errorf("dropped %d segments: found %d + gap %d, access log %d (stats %+v)", dropped, m, gaps, total, st)
			}
			lost := 0
			for _, r := range recs {
				if r.ResponseLost != "" {
					lost++
					if r.Skip != "" || r.Response != nil {
						t.Errorf("request %s %s: answer lost (%s), yet skip %q, response %v", r.Request.Method, r.Request.URI, r.ResponseLost, r.Skip, r.Response)
					}
				}
			}
			if lost != st.ResponsesLost {
				t.Errorf("%d records with their answer lost, stats say %d", lost, st.ResponsesLost)
			}
			if c.capture == "wrk.pcap.gz" && m+gaps != total {
				// one request and one answer per segment: each loss hits one exchange
				t.Errorf("found %d + gap %d != %d", m, gaps, total)
			}
		})
	}
}

// subsequence reports whether every element of got appears in want, in
// order; a request found without its answer (Status 0) matches whatever
// NGINX answered.
func subsequence(got, want []seen) bool {
	i := 0
	for _, g := range got {
		for i < len(want) && want[i] != g && (g.Status != 0 || want[i].Method != g.Method || want[i].URI != g.URI) {
			i++
		}
		if i == len(want) {
			return false
		}
		i++
	}
	return true
}
