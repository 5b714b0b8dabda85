package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

// tlsCapture is traffic to an NGINX front door with TLS and HTTP/2,
// captured by tcpdump, with the key log curl wrote for it.
type tlsCapture struct {
	pcap, keys string
	bed        *testbed.Bed
	front, h2c *testbed.Front
}

// curlRuns are the clients of a TLS capture: HTTP/1.1 and HTTP/2, TLS 1.2
// and 1.3 forced in turn, with AES-GCM and ChaCha20-Poly1305 each, several
// requests on one connection.
var curlRuns = []struct {
	name string
	args []string
	h2c  bool // to the h2c front door instead, in the clear
}{
	{"h1 tls1.2 aes", []string{"--http1.1", "--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"}, false},
	{"h1 tls1.2 chacha", []string{"--http1.1", "--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305"}, false},
	{"h2 tls1.2 aes256", []string{"--http2", "--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"}, false},
	{"h1 tls1.3", []string{"--http1.1", "--tlsv1.3", "--tls13-ciphers", "TLS_AES_256_GCM_SHA384"}, false},
	{"h2 tls1.3 aes", []string{"--http2", "--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"}, false},
	{"h2 tls1.3 chacha", []string{"--http2", "--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"}, false},
	{"h2c prior knowledge", []string{"--http2-prior-knowledge"}, true},
}

// tlsRuns is how many of curlRuns speak TLS.
func tlsRuns() int {
	n := 0
	for _, r := range curlRuns {
		if !r.h2c {
			n++
		}
	}
	return n
}

func portOf(addr string) string {
	_, port, _ := strings.Cut(addr, ":")
	return port
}

var curlPaths = []string{"/api/items/1", "/api/items?page=2", "/page", "/text", "/missing", "/old-page"}

// captureTLS starts the bed and a TLS front door in front of its legacy,
// and captures curlRuns against it into dir.
func captureTLS(t *testing.T, ext string) *tlsCapture {
	t.Helper()
	testbed.NeedPrograms(t, "tcpdump", "curl")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	bed := testbed.StartForTest(t, testbed.Config{})
	dir := t.TempDir()
	front, err := testbed.StartFront(ctx, zerolog.Nop(), testbed.FrontConfig{Upstream: bed.Legacy.Addr, Dir: filepath.Join(dir, "front"), TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(front.Stop)
	h2c, err := testbed.StartFront(ctx, zerolog.Nop(), testbed.FrontConfig{Upstream: bed.Legacy.Addr, Dir: filepath.Join(dir, "h2c")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h2c.Stop)
	c := &tlsCapture{pcap: filepath.Join(dir, "cap"+ext), keys: filepath.Join(dir, "keys.log"), bed: bed, front: front, h2c: h2c}
	filter := "tcp port " + portOf(front.Addr) + " or tcp port " + portOf(h2c.Addr)
	err = testbed.Capture(ctx, c.pcap, filter, func() error {
		os.Remove(c.keys) // a capture made again logs its own sessions
		return curlTLS(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := os.Getenv("CUTOVER_KEEP_CAPTURE"); d != "" {
		for _, f := range []string{c.pcap, c.keys} {
			b, _ := os.ReadFile(f)
			os.WriteFile(filepath.Join(d, filepath.Base(f)), b, 0o644)
		}
	}
	return c
}

// curlTLS runs curlRuns against c's front doors, curl logging its keys.
func curlTLS(c *tlsCapture) error {
	for _, run := range curlRuns {
		url := c.front.URL
		if run.h2c {
			url = c.h2c.URL
		}
		common := append([]string{"-sS", "-o", "/dev/null", "--cacert", c.front.CertFile}, run.args...)
		var invocations [][]string
		if run.h2c {
			// curl 7.88 fails a second request on an h2c connection
			// ("Error in the HTTP2 framing layer"): one connection each.
			for _, p := range curlPaths {
				invocations = append(invocations, append(slices.Clone(common), url+p))
			}
			invocations = append(invocations, append(slices.Clone(common), "-d", "a=1", url+"/echo"))
		} else {
			args := slices.Clone(common)
			for _, p := range curlPaths {
				args = append(args, url+p)
			}
			// A POST with a body, last, on the same connection.
			invocations = append(invocations, append(append(append(args, "--next"), common...), "-d", "a=1", url+"/echo"))
		}
		for _, args := range invocations {
			cmd := exec.Command("curl", args...)
			cmd.Env = append(os.Environ(), "SSLKEYLOGFILE="+c.keys)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("curl %s: %v: %s", run.name, err, out)
			}
		}
	}
	return nil
}

// tsharkDecrypted lists the requests tshark finds in a capture, decrypting
// with keys, as "METHOD URI STATUS" lines in the order of their streams.
func tsharkDecrypted(t *testing.T, pcap, keys, h2cPort string) []string {
	t.Helper()
	testbed.NeedPrograms(t, "tshark")
	out, err := exec.Command("tshark", "-r", pcap, "-o", "tls.keylog_file:"+keys, "-2", "-d", "tcp.port=="+h2cPort+",http2",
		"-Y", "http.request or http.response or http2.type == 1",
		"-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,",
		"-e", "tcp.stream", "-e", "http.request.method", "-e", "http.request.uri", "-e", "http.response.code",
		"-e", "http2.streamid", "-e", "http2.headers.method", "-e", "http2.headers.path", "-e", "http2.headers.status").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type req struct{ method, uri, status string }
	var order []string // "stream/h2stream" in the order requests appear
	reqs := map[string]*req{}
	h1 := map[string][]string{} // per TCP stream, HTTP/1.1 requests waiting for their answers
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) < 8 {
			continue
		}
		stream := f[0]
		switch {
		case f[1] != "":
			k := fmt.Sprintf("%s/h1/%d", stream, len(order))
			reqs[k] = &req{method: f[1], uri: f[2]}
			order = append(order, k)
			h1[stream] = append(h1[stream], k)
		case f[3] != "":
			if q := h1[stream]; len(q) > 0 {
				reqs[q[0]].status = f[3]
				h1[stream] = q[1:]
			}
		default:
			// HTTP/2: one frame line may carry several streams' headers.
			ids, methods, paths, statuses := strings.Split(f[4], ","), strings.Split(f[5], ","), strings.Split(f[6], ","), strings.Split(f[7], ",")
			mi, si := 0, 0
			for _, id := range ids {
				if id == "0" || id == "" {
					continue
				}
				k := stream + "/h2/" + id
				if f[5] != "" && mi < len(methods) && reqs[k] == nil {
					reqs[k] = &req{method: methods[mi], uri: paths[min(mi, len(paths)-1)]}
					order = append(order, k)
					mi++
				} else if f[7] != "" && si < len(statuses) && reqs[k] != nil && reqs[k].status == "" {
					reqs[k].status = statuses[si]
					si++
				}
			}
		}
	}
	var lines []string
	for _, k := range order {
		r := reqs[k]
		lines = append(lines, r.method+" "+r.uri+" "+r.status)
	}
	return lines
}

// ourRequests lists what `cutover inspect --json` prints for the capture,
// as tsharkDecrypted does.
func ourRequests(t *testing.T, pcap string, keys *KeyLog) ([]string, Stats) {
	t.Helper()
	var out strings.Builder
	st, err := Inspect(context.Background(), &out, []string{pcap}, InspectConfig{JSON: true, Read: ReadConfig{TLSKeys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var line Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if line.Method == "" {
			continue // the summary
		}
		status := ""
		if line.Status != nil {
			status = fmt.Sprint(*line.Status)
		}
		lines = append(lines, line.Method+" "+line.URI+" "+status)
	}
	return lines, st
}

func TestTLSCaptureMatchesTshark(t *testing.T) {
	c := captureTLS(t, ".pcap")
	keys, err := LoadKeyLog(c.keys)
	if err != nil {
		t.Fatal(err)
	}
	want := tsharkDecrypted(t, c.pcap, c.keys, portOf(c.h2c.Addr))
	wantN := len(curlRuns) * (len(curlPaths) + 1)
	if len(want) != wantN {
		// Say whether the capture or tshark's decryption lacks them: a
		// loaded CI box once had tshark find 42 of 49.
		ours, st := ourRequests(t, c.pcap, keys)
		keyLines, _ := os.ReadFile(c.keys)
		t.Fatalf("tshark finds %d requests, curl sent %d; cutover finds %d (stats %+v), the key log has %d lines:\n%s",
			len(want), wantN, len(ours), st, strings.Count(string(keyLines), "\n"), strings.Join(want, "\n"))
	}
	slices.Sort(want)
	// The same capture as pcapng with the key log in a Decryption Secrets
	// Block, as Wireshark's editcap writes it: decrypted without a flag.
	testbed.NeedPrograms(t, "editcap")
	withDSB := strings.TrimSuffix(c.pcap, ".pcap") + ".pcapng"
	if out, err := exec.Command("editcap", "--inject-secrets", "tls,"+c.keys, c.pcap, withDSB).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v: %s", err, out)
	}
	for _, tt := range []struct {
		name string
		pcap string
		keys *KeyLog
	}{{"key log", c.pcap, keys}, {"pcapng secrets block", withDSB, nil}} {
		t.Run(tt.name, func(t *testing.T) {
			got, st := ourRequests(t, tt.pcap, tt.keys)
			// Compared as sets, to say which differ: capture order is the
			// order requests were read whole, tshark's that of their frames.
			slices.Sort(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("requests (-tshark +cutover):\n%s", d)
			}
			if st.Responses != wantN || len(st.Skipped) != 0 {
				t.Errorf("stats %+v: want %d responses and nothing skipped", st, wantN)
			}
		})
	}
	t.Run("no key log", func(t *testing.T) {
		// Every TLS connection is one encrypted unit.
		none, st := ourRequests(t, c.pcap, nil)
		h2c := len(curlPaths) + 1
		if len(none) != h2c || st.Skipped[ReasonTLS] != tlsRuns() {
			t.Errorf("%d requests, skipped %v: want %d (h2c) and encrypted=%d", len(none), st.Skipped, h2c, tlsRuns())
		}
	})
	t.Run("another key log", func(t *testing.T) {
		other := NewKeyLog()
		if err := other.Parse(strings.NewReader("CLIENT_RANDOM " + strings.Repeat("ab", 32) + " " + strings.Repeat("cd", 48) + "\n")); err != nil {
			t.Fatal(err)
		}
		_, st := ourRequests(t, c.pcap, other)
		if st.Skipped[ReasonTLSNoKey] != tlsRuns() {
			t.Errorf("skipped %v, want tls_no_key=%d", st.Skipped, tlsRuns())
		}
	})
	t.Run("replay", func(t *testing.T) {
		// Decrypted, the capture replays in the clear to legacy NGINX/Lua
		// and the candidate: every request compared, a changed field
		// reported on its endpoint.
		if err := c.bed.Candidate.SetSwitches(testbed.Switches{ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`1.5`)}}); err != nil {
			t.Fatal(err)
		}
		rules, err := diff.ParseRules([]byte(noiseRules))
		if err != nil {
			t.Fatal(err)
		}
		agg := diff.NewAggregator(diff.AggregatorConfig{Rules: rules})
		client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
		defer client.Close()
		cfg := Config{Files: []string{c.pcap}, Unsafe: true, Read: ReadConfig{TLSKeys: keys},
			Legacy: mustURL(t, c.bed.Legacy.URL), Candidate: mustURL(t, c.bed.Candidate.URL)}
		if _, err := Run(context.Background(), cfg, client, agg, zerolog.Nop()); err != nil {
			t.Fatal(err)
		}
		s := agg.Summary("replay")
		all := int64(len(curlRuns) * (len(curlPaths) + 1))
		if s.Counts.Requests != all || s.Counts.Compared != all {
			t.Errorf("counts %+v: want all %d requests compared", s.Counts, all)
		}
		fields := map[string]int64{}
		for _, e := range s.Endpoints {
			for _, f := range e.Fields {
				if f.Reported {
					fields[e.Endpoint+" "+f.Path] += f.Count
				}
			}
		}
		want := map[string]int64{"GET /api/items/{id} body.price": int64(len(curlRuns))}
		if d := cmp.Diff(want, fields); d != "" {
			t.Errorf("reported fields (-want +got):\n%s", d)
		}
	})
	t.Run("no secret in any output", func(t *testing.T) {
		var out strings.Builder
		if _, err := Inspect(context.Background(), &out, []string{c.pcap}, InspectConfig{JSON: true, Read: ReadConfig{TLSKeys: keys}}); err != nil {
			t.Fatal(err)
		}
		log, err := os.ReadFile(c.keys)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
			f := strings.Fields(line)
			secret := f[len(f)-1]
			for _, text := range []string{out.String(), keys.String(), fmt.Sprintf("%v %+v %s", keys, keys, keys)} {
				if strings.Contains(strings.ToLower(text), strings.ToLower(secret[:16])) {
					t.Fatalf("a secret of the key log is in the output")
				}
			}
		}
	})
}
