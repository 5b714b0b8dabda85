package upstream

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// slowRelay takes its time over the head and every piece of the body, as
// a slow client does.
type slowRelay struct{ d time.Duration }

func (s slowRelay) Head(int, string, http.Header) error { time.Sleep(s.d); return nil }
func (s slowRelay) Body([]byte, bool) error             { time.Sleep(s.d); return nil }

// An answer's time is the target's: from the request written to the
// answer received, whatever the reader does meanwhile. A relay that takes
// 300 ms over each piece (a slow client) adds nothing to TTFB or Total of
// an answer the legacy NGINX/Lua sends at once, and a begun request
// finished 300 ms later (a worker that was busy) is timed the same.
func TestAnswerTimeIsTheTargets(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	c := New(Config{})
	defer c.Close()
	base := mustURL(t, bed.Legacy.URL)
	req := &diff.Request{Method: "GET", URI: "/api/items/7", Host: "shop.example"}
	for range 3 { // warm: connections, NGINX's Lua
		c.Do(context.Background(), base, req)
	}
	const late = 300 * time.Millisecond
	quick := c.Do(context.Background(), base, req)
	relayed := c.Send(context.Background(), base, &Outgoing{Req: req, Relay: slowRelay{late}})
	p := c.Prepare(base, &Outgoing{Req: req})
	p.Start()
	time.Sleep(late)
	begun := p.Finish(context.Background())
	for name, r := range map[string]*diff.Response{"quick": quick, "relayed to a slow client": relayed, "finished late": begun} {
		if r.Err != "" || r.Status != 200 {
			t.Fatalf("%s: %d %s", name, r.Status, r.Err)
		}
		t.Logf("%s: ttfb %v total %v", name, r.TTFB, r.Total)
		if r.Total >= late || r.TTFB >= late || r.TTFB > r.Total {
			t.Errorf("%s: ttfb %v, total %v: the reader's %v counted as the target's", name, r.TTFB, r.Total, late)
		}
	}
}
