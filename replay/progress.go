package replay

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progress writes one self-overwriting line: requests done, rate and
// differences so far. It is meant for a terminal; a nil writer disables it.
type progress struct {
	w         io.Writer
	different func() int64
	n         atomic.Int64
	start     time.Time
	quit      chan struct{}
	wg        sync.WaitGroup
}

func startProgress(w io.Writer, different func() int64) *progress {
	p := &progress{w: w, different: different, start: time.Now(), quit: make(chan struct{})}
	if w == nil {
		return p
	}
	p.wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.print("")
			case <-p.quit:
				p.print("\n")
				return
			}
		}
	})
	return p
}

func (p *progress) done() { p.n.Add(1) }

func (p *progress) print(end string) {
	n := p.n.Load()
	secs := time.Since(p.start).Seconds()
	var diffs int64
	if p.different != nil {
		diffs = p.different()
	}
	fmt.Fprintf(p.w, "\r%d requests  %.0f req/s  %d different  %s elapsed%s", n, float64(n)/max(secs, 1e-3), diffs,
		time.Duration(secs*float64(time.Second)).Round(time.Second), end)
}

// stop ends the line; it is safe to call more than once.
func (p *progress) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	p.wg.Wait()
}
