package tap

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startLiveTap taps the test bed's legacy on lo into res, comparing with
// its edge candidate, from when it returns. stop ends the run, once all
// the traffic to count was sent, and fails t if the run failed; it is
// also called when the test ends.
func startLiveTap(t *testing.T, bed *testbed.Bed, res *Results) (stop func()) {
	t.Helper()
	_, p, _ := net.SplitHostPort(bed.Legacy.Addr)
	port, _ := strconv.Atoi(p)
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	live, err := OpenLive(ctx, "lo", PortFilter([]int{port}))
	if err != nil {
		cancel()
		client.Close()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() {
		_, runErr = Run(ctx, Config{Candidate: mustURL(t, bed.EdgeCandidate.URL)}, live, client, res, zerolog.Nop())
	})
	end := sync.OnceValue(func() error {
		cancel()
		wg.Wait()
		live.Close()
		client.Close()
		return runErr
	})
	t.Cleanup(func() { end() })
	time.Sleep(300 * time.Millisecond) // the live ring's own filter settles
	return func() {
		t.Helper()
		if err := end(); err != nil {
			t.Fatal(err)
		}
	}
}
