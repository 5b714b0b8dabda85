package tap

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

func need(t testing.TB, prog string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed: %v", prog, err)
		}
		t.Skipf("skipping: %s is not installed", prog)
	}
	return p
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("live capture needs root")
		}
		t.Skip("skipping: live capture needs root")
	}
}

// wrkScript asks for /api/items/1 to /api/items/10 in turn.
const wrkScript = `
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/api/items/" .. (i % 10 + 1))
end
`

// itemsLog counts the requests for /api/items/N in an access log, and
// those for item 7, the one the candidate changes.
func itemsLog(t *testing.T, path string) (items, seven int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct {
			URI    string
			Status int
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l.URI, "/api/items/") && l.Status == 200 {
			items++
			if l.URI == "/api/items/7" {
				seven++
			}
		}
	}
	return items, seven
}

// TestTapLiveAndStream runs wrk against the real NGINX/Lua legacy (keep-
// alive, then a new connection per request) while the tap captures
// loopback live and tcpdump writes the same traffic to a file; the tap
// then reads the file as a stream. Both see the access log's requests,
// find differences on exactly the endpoint the candidate changed (one
// field of item 7), as many as item 7 was asked for, and agree on the
// counts. Every record is accounted for.
func TestTapLiveAndStream(t *testing.T) {
	needRoot(t)
	wrk := need(t, "wrk")
	tcpdump := need(t, "tcpdump")
	bed := testbed.StartForTest(t, testbed.Config{Candidate: testbed.CandidateConfig{Switches: testbed.Switches{
		ChangeField: &testbed.FieldChange{Path: "/api/items/7", Field: "price", Value: json.RawMessage("999")},
	}}})
	_, p, _ := net.SplitHostPort(bed.Legacy.Addr)
	port, _ := strconv.Atoi(p)
	dir := t.TempDir()
	script := filepath.Join(dir, "items.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		t.Fatal(err)
	}
	candidate := mustURL(t, bed.Candidate.URL)
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	defer client.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live, err := OpenLive(ctx, "lo", PortFilter([]int{port}))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	pcap := filepath.Join(dir, "tap.pcap")
	dump := exec.Command(tcpdump, "-i", "lo", "-U", "-B", "131072", "-s", "0", "-Z", "root", "-w", pcap, "tcp port "+p)
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	defer dump.Process.Kill()

	liveRes := NewResults(diff.AggregatorConfig{}, false)
	var liveOut Result
	var liveErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		liveOut, liveErr = Run(ctx, Config{Candidate: candidate}, live, client, liveRes, zerolog.Nop())
	})
	time.Sleep(time.Second) // tcpdump attaches
	if err := os.Truncate(bed.Legacy.AccessLog, 0); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-t1", "-c8", "-d2s", "-s", script, bed.Legacy.URL},
		{"-t1", "-c4", "-d1s", "-s", script, "-H", "Connection: close", bed.Legacy.URL},
	} {
		if out, err := exec.Command(wrk, args...).CombinedOutput(); err != nil {
			t.Fatalf("wrk: %v: %s", err, out)
		}
	}
	items, seven := itemsLog(t, bed.Legacy.AccessLog)
	// Wait until the live tap has compared what it read, then stop both.
	for last, i := int64(-1), 0; i < 240; i++ {
		time.Sleep(500 * time.Millisecond)
		c, _ := liveRes.main.Counts()
		if c.Requests == last && c.Requests >= int64(items) {
			break
		}
		last = c.Requests
	}
	cancel()
	wg.Wait()
	dump.Process.Signal(syscall.SIGINT)
	dump.Wait()
	if liveErr != nil {
		t.Fatalf("live tap: %v", liveErr)
	}

	f, err := os.Open(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	streamRes := NewResults(diff.AggregatorConfig{}, false)
	streamOut, err := Run(context.Background(), Config{Candidate: candidate}, Stream{R: f, Name: pcap}, client, streamRes, zerolog.Nop())
	if err != nil {
		t.Fatalf("stream tap: %v", err)
	}

	// A candidate slower than the capture: what the queue cannot hold is
	// skipped as queue_full, every request still counted once.
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	fullRes := NewResults(diff.AggregatorConfig{}, false)
	if _, err := Run(context.Background(), Config{Candidate: candidate, Concurrency: 1, QueueSize: 1}, Stream{R: f, Name: pcap}, client, fullRes, zerolog.Nop()); err != nil {
		t.Fatalf("stream tap, queue of 1: %v", err)
	}
	full, whole := fullRes.Summary().Counts, streamRes.Summary().Counts
	if err := full.Check(); err != nil || full.Requests != whole.Requests || full.Skipped[ReasonQueueFull] == 0 {
		t.Errorf("queue of 1: %+v (%v); want the %d requests of the whole run, some queue_full", full, err, whole.Requests)
	}

	got := map[string]diff.Summary{"live": liveRes.Summary(), "stream": streamRes.Summary()}
	outs := map[string]Result{"live": liveOut, "stream": streamOut}
	byEndpoint := map[string]map[string]int64{}
	compared := map[string]int64{}
	for name, s := range got {
		if err := s.Counts.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		var ep *diff.EndpointSummary
		for i := range s.Endpoints {
			if s.Endpoints[i].Endpoint == "GET /api/items/{id}" {
				ep = &s.Endpoints[i]
			}
		}
		if ep == nil {
			t.Fatalf("%s: no GET /api/items/{id} in %+v", name, s.Counts)
		}
		// At least 99.9% of the access log's requests, every missing one
		// counted with its reason.
		if float64(ep.Compared) < 0.999*float64(items) {
			t.Errorf("%s: compared %d of the access log's %d item requests (skipped %v, reader %+v)", name, ep.Compared, items, s.Counts.Skipped, outs[name].Stats)
		}
		fields := map[string]int64{}
		for _, fs := range ep.Fields {
			if fs.Reported {
				fields[fs.Path+" "+string(fs.Kind)] = fs.Count
			}
		}
		byEndpoint[name] = fields
		compared[name] = ep.Compared
		if len(fields) != 1 || fields["body.price changed"] < int64(float64(seven)*0.999) || fields["body.price changed"] > int64(seven) {
			t.Errorf("%s: reported fields %v, want body.price changed on item 7's %d requests", name, fields, seven)
		}
		for _, e := range s.Endpoints {
			if e.Endpoint != ep.Endpoint && len(e.ReportedFields()) > 0 {
				t.Errorf("%s: differences reported on %s too: %+v", name, e.Endpoint, e.ReportedFields())
			}
		}
		t.Logf("%s: %+v; items %d (item 7: %d); reader %+v", name, s.Counts, items, seven, outs[name].Stats)
	}
	if l, s := compared["live"], compared["stream"]; l != s || l != int64(items) {
		t.Errorf("item requests compared: live %d, the stream %d, the access log %d", l, s, items)
	}
	if l, s := byEndpoint["live"]["body.price changed"], byEndpoint["stream"]["body.price changed"]; l != s {
		t.Errorf("body.price differences: live %d, the stream %d", l, s)
	}
}
