package replay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/cutover/cutover/internal/testbed"
)

// TestH2CUpgradeCapture captures curl --http2 against an h2c server that
// takes the Upgrade (x/net's h2c handler): the upgraded request's answer
// comes on HTTP/2's stream 1, not as the 101, and is read as such.
func TestH2CUpgradeCapture(t *testing.T) {
	testbed.NeedPrograms(t, "tcpdump", "curl")
	srv := httptest.NewServer(h2c.NewHandler(testbed.OriginHandler(), &http2.Server{}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pcap := filepath.Join(t.TempDir(), "upgrade.pcap")
	err := testbed.Capture(ctx, pcap, "tcp port "+portOf(srv.Listener.Addr().String()), func() error {
		for _, p := range []string{"/api/items/3", "/text", "/missing"} {
			if out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "--http2", srv.URL+p).CombinedOutput(); err != nil {
				return fmt.Errorf("curl: %v: %s", err, out)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	st, err := ReadFile(ctx, pcap, ReadConfig{Responses: true}, func(r *Record) error {
		if r.Skip != "" {
			got = append(got, "skipped "+r.Skip)
			return nil
		}
		line := r.Request.Method + " " + r.Request.URI + " -"
		if r.Response != nil {
			line = r.Request.Method + " " + r.Request.URI + " " + r.Response.Proto + " " + http.StatusText(r.Response.Status)
		}
		got = append(got, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /api/items/3 HTTP/2.0 OK", "GET /text HTTP/2.0 OK", "GET /missing HTTP/2.0 Not Found"}
	if len(got) != len(want) {
		t.Fatalf("records %q (stats %+v), want %q", got, st, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: %q, want %q", i, got[i], want[i])
		}
	}
}
