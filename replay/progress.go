package replay

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progress writes one self-overwriting line: requests done, rate, ETA and
// differences so far. It is meant for a terminal; a nil writer disables it.
type progress struct {
	w         io.Writer
	different func() int64
	// read is the share of the input read so far (0–1), from bytes: the
	// reader runs only a little ahead of the sends, so it tells how much
	// of the replay is done, and the ETA follows from it.
	read  func() float64
	n     atomic.Int64
	start time.Time
	quit  chan struct{}
	wg    sync.WaitGroup
}

func startProgress(w io.Writer, different func() int64, read func() float64) *progress {
	p := &progress{w: w, different: different, read: read, start: time.Now(), quit: make(chan struct{})}
	if w == nil {
		return p
	}
	p.wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				fmt.Fprint(p.w, p.line(now, false))
			case <-p.quit:
				fmt.Fprint(p.w, p.line(time.Now(), true))
				return
			}
		}
	})
	return p
}

func (p *progress) done() { p.n.Add(1) }

// line is the progress line at now; the last one ends the line instead of
// estimating what is left.
func (p *progress) line(now time.Time, last bool) string {
	n := p.n.Load()
	elapsed := now.Sub(p.start)
	var diffs int64
	if p.different != nil {
		diffs = p.different()
	}
	s := fmt.Sprintf("\r%d requests  %.0f req/s  %d different  %s elapsed", n,
		float64(n)/max(elapsed.Seconds(), 1e-3), diffs, elapsed.Round(time.Second))
	switch {
	case last:
		return s + "\x1b[K\n"
	case p.read == nil:
	case p.read() <= 0 || elapsed < time.Second:
		s += "  ETA --"
	default:
		f := min(p.read(), 1)
		s += "  ETA " + time.Duration(float64(elapsed)*(1-f)/f).Round(time.Second).String()
	}
	return s + "\x1b[K" // erase what a longer line before left
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
