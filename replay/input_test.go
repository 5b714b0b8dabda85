package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
)

// TestFormats reads one capture as pcap, pcapng and gzip-compressed
// pcapng: the same requests come out.
func TestFormats(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "curl.pcap")
	all := func(int, *layers.TCP) bool { return true }
	pcap, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ng := rewrite(t, path, true, all)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(ng)
	zw.Close()
	want, _ := found(must(readAll(t, "pcap", pcap)))
	for name, data := range map[string][]byte{"pcapng": ng, "pcapng.gz": gz.Bytes(), "pcap-nanos": rewrite(t, path, false, all)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, _ := found(must(readAll(t, name, data)))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func must(recs []*Record, _ Stats) []*Record { return recs }

// TestBadInput: a file that is not a readable capture gives one line
// naming the file and the offset, never a panic.
func TestBadInput(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile(filepath.Join("testdata", "any.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "f: offset 0: too short to be a capture"},
		{"text", []byte("hello, this is not a capture\n"), "f: offset 0: not a capture"},
		{"truncated", good[:len(good)-10], "f: offset 6426: file ends inside a packet record (truncated capture)"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0, 1, 2}, "f: offset 0: gzip"},
		{"bad har", []byte(`{"log": {"entries": [`), "f: har:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Read(context.Background(), bytes.NewReader(tt.data), "f", ReadConfig{}, func(*Record) error { return nil })
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestHAR(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "browser.har"))
	if err != nil {
		t.Fatal(err)
	}
	recs, st := readAll(t, "browser.har", data)
	var got []Line
	for _, r := range recs {
		if r.Skip == "" {
			got = append(got, NewLine(r))
		}
	}
	ok := 200
	want := []Line{
		{Time: recs[0].Time, Server: "127.0.0.1", Method: "GET", URI: "/api/items/1?x=1", Host: "shop.example", Proto: "HTTP/1.1", Status: &ok},
		{Time: recs[1].Time, Method: "POST", URI: "/echo", Host: "shop.example", Proto: "h2", BodyBytes: 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if st.Requests != 2 || st.Skipped[ReasonNotHTTP] != 1 || string(recs[0].Response.Body) != "{\"id\": 1}\n" {
		t.Errorf("stats %+v, body %q", st, recs[0].Response.Body)
	}
}
