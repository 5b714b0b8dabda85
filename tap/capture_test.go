package tap

import (
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/bpf"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/replay"
)

func TestParseDDD(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []bpf.RawInstruction
		err      bool
	}{
		{"two", "2\n40 0 0 12\n6 0 0 262144\n", []bpf.RawInstruction{{Op: 40, K: 12}, {Op: 6, K: 262144}}, false},
		{"jumps", "1\n21 0 6 34525\n", []bpf.RawInstruction{{Op: 21, Jt: 0, Jf: 6, K: 34525}}, false},
		{"count off", "3\n40 0 0 12\n", nil, true},
		{"empty", "", nil, true},
		{"not numbers", "1\nld [12]\n", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDDD(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); !tt.err && diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseDDD(f *testing.F) {
	f.Add("2\n40 0 0 12\n6 0 0 262144\n")
	f.Add("1\n21 0 6 34525")
	f.Fuzz(func(t *testing.T, s string) {
		prog, err := parseDDD(s)
		if err == nil && len(prog) == 0 {
			t.Fatal("no error and no program")
		}
	})
}

// TestCompileFilter: tcpdump's program for --port keeps the port's TCP
// packets and drops the others, as run by the BPF machine.
func TestCompileFilter(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("skipping: tcpdump is not installed")
	}
	prog, err := compileFilter(PortFilter([]int{8080, 9090}))
	if err != nil {
		t.Fatal(err)
	}
	insts, _ := bpf.Disassemble(prog)
	vm, err := bpf.NewVM(insts)
	if err != nil {
		t.Fatal(err)
	}
	frame := func(src, dst uint16) []byte {
		b := make([]byte, 14+20+20)
		b[12], b[13] = 0x08, 0x00 // IPv4
		ip := b[14:]
		ip[0], ip[9] = 0x45, 6 // TCP
		ip[2], ip[3] = 0, 40
		tcp := ip[20:]
		tcp[0], tcp[1], tcp[2], tcp[3] = byte(src>>8), byte(src), byte(dst>>8), byte(dst)
		tcp[12] = 5 << 4
		return b
	}
	for _, tt := range []struct {
		src, dst uint16
		keep     bool
	}{{40000, 8080, true}, {9090, 40000, true}, {40000, 8081, false}} {
		n, err := vm.Run(frame(tt.src, tt.dst))
		if err != nil || (n > 0) != tt.keep {
			t.Errorf("%d → %d: kept %d bytes (%v), want kept %v", tt.src, tt.dst, n, err, tt.keep)
		}
	}
	if _, err := compileFilter("tcp port"); err == nil {
		t.Error("a broken expression compiled")
	}
}

// TestRepeats: the same safe request answered twice by legacy within the
// window gives the earlier answer (a noise sample), at most once a second;
// another request, an unsafe one, one too late or with another status
// gives none.
func TestRepeats(t *testing.T) {
	at := time.Unix(1000, 0)
	rec := func(method, uri string, after time.Duration, status int, ae string) *replay.Record {
		h := http.Header{}
		if ae != "" {
			h.Set("Accept-Encoding", ae)
		}
		return &replay.Record{Time: at.Add(after), Request: diff.Request{Method: method, URI: uri, Host: "h", Header: h},
			Response: &diff.Response{Status: status}}
	}
	r := newRepeats(5 * time.Second)
	for _, tt := range []struct {
		name string
		rec  *replay.Record
		want bool
	}{
		{"first", rec("GET", "/a", 0, 200, ""), false},
		{"again", rec("GET", "/a", time.Second, 200, ""), true},
		{"again, within a second of the sample", rec("GET", "/a", 1500*time.Millisecond, 200, ""), false},
		{"again, a second after the sample", rec("GET", "/a", 2500*time.Millisecond, 200, ""), true},
		{"other uri", rec("GET", "/b", 2*time.Second, 200, ""), false},
		{"other encoding", rec("GET", "/a", 2*time.Second, 200, "gzip"), false},
		{"unsafe", rec("POST", "/a", 3*time.Second, 200, ""), false},
		{"other status", rec("GET", "/a", 3*time.Second, 404, ""), false},
		{"too late", rec("GET", "/a", 20*time.Second, 404, ""), false},
	} {
		if got := r.seen(tt.rec) != nil; got != tt.want {
			t.Errorf("%s: noise sample %v, want %v", tt.name, got, tt.want)
		}
	}
}
