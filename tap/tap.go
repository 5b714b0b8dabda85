// Package tap is the passive live source: legacy's own requests and
// answers are read off an interface (or a capture stream), each complete
// safe request is sent to the candidate once legacy's answer has been
// seen, and the two answers are compared. Legacy never sees an extra
// request.
//
// Legacy's latency is seen on the wire, the candidate's is measured by the
// sender: they are reported side by side but never judged against each
// other. With a secondary legacy, sent by the same sender as the
// candidate, the candidate's latency is judged against the secondary's.
package tap

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/replay"
)

// Skip reasons of the tap, besides the reading reasons of package replay
// (gap, malformed, encrypted, ...).
const (
	// ReasonNoResponse: legacy's answer is not in the capture (it never
	// came, or the capture ended first): nothing to compare with.
	ReasonNoResponse = "no_response"
	// ReasonOrphanResponse counts answers whose request the capture
	// lost: each is a request that was not compared.
	ReasonOrphanResponse = "orphan_response"
	// ReasonKernelDrop counts packets the kernel dropped from the capture
	// (its ring was full); each may have held a request.
	ReasonKernelDrop = "kernel_drop"
	// ReasonQueueFull: as many exchanges as allowed were in flight.
	ReasonQueueFull = "queue_full"
)

// Sender sends one request to one target; *upstream.Client is one.
type Sender = replay.Sender

// Source is where packets come from: a live interface or a capture stream.
type Source interface {
	// Read reads until the source ends or ctx is done, emitting records
	// in capture order.
	Read(ctx context.Context, cfg replay.ReadConfig, emit func(*replay.Record) error) (replay.Stats, error)
	// Drops is how many packets the kernel dropped so far (0 when unknown).
	Drops() int64
}

// Config says where to send and how much to hold.
type Config struct {
	Candidate *url.URL
	// Secondary, when set, is a second legacy sent every request the
	// candidate is sent: its differences from legacy are noise, and the
	// candidate's latency is judged against its own.
	Secondary *url.URL
	// Host, when set, replaces every request's Host header.
	Host string
	// Concurrency is how many exchanges run at once [256].
	Concurrency int
	// QueueSize is how many requests wait for a free sender; a request
	// beyond it is skipped as queue_full rather than delaying the
	// capture [16384].
	QueueSize int
	// QueueBytes bounds the bodies (legacy's answer and the request)
	// that waiting requests hold; beyond it they are skipped as
	// queue_full too [256 MiB].
	QueueBytes int64
	// Unsafe also sends requests with unsafe methods to the candidate.
	Unsafe bool
	// RepeatWindow: the same safe request answered twice by legacy within
	// it gives a legacy-against-legacy comparison, learned as noise [5s].
	RepeatWindow time.Duration
	Read         replay.ReadConfig
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 256
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 16384
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 256 << 20
	}
	if c.RepeatWindow <= 0 {
		c.RepeatWindow = 5 * time.Second
	}
	c.Read.Responses = true // legacy's recorded answer is what is compared
	if c.Read.FlushAfter <= 0 {
		c.Read.FlushAfter = time.Second
	}
	if c.Read.CloseAfter <= 0 {
		c.Read.CloseAfter = 30 * time.Second
	}
	return c
}

// Result is what a run did besides what Results counted.
type Result struct {
	Stats       replay.Stats `json:"reader"`       // what the reader found
	Drops       int64        `json:"kernel_drops"` // packets the kernel dropped
	Sent        int64        `json:"sent"`         // requests sent to the candidate
	Interrupted bool         `json:"interrupted"`
}

// Run reads src and compares the candidate with legacy on every request,
// counting every record read in res exactly once, also when ctx ends: the
// records read after that are skipped as interrupted, exchanges in flight
// finish (bounded by the sender's timeout).
func Run(ctx context.Context, cfg Config, src Source, send Sender, res *Results, log zerolog.Logger) (Result, error) {
	cfg = cfg.withDefaults()
	t := &tapper{cfg: cfg, send: send, res: res, queue: make(chan job, cfg.QueueSize),
		sendCtx: context.WithoutCancel(ctx), repeats: newRepeats(cfg.RepeatWindow)}
	for range cfg.Concurrency {
		t.inflight.Go(t.worker)
	}
	var out Result
	stopDrops := make(chan struct{})
	var dropsDone sync.WaitGroup
	dropsDone.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				t.countDrops(src.Drops())
			case <-stopDrops:
				return
			}
		}
	})
	st, err := src.Read(ctx, cfg.Read, func(rec *replay.Record) error {
		t.take(ctx, rec)
		return nil
	})
	close(stopDrops)
	dropsDone.Wait()
	close(t.queue)
	t.inflight.Wait()
	t.countDrops(src.Drops())
	for range st.Orphans {
		res.Skip("", ReasonOrphanResponse)
	}
	out.Stats, out.Drops, out.Sent = st, t.drops, t.sent
	out.Interrupted = ctx.Err() != nil
	log.Debug().Int("requests", st.Requests).Int64("sent", t.sent).Int64("drops", t.drops).Msg("tap done")
	return out, err
}

// tapper handles the records of one run.
type tapper struct {
	cfg      Config
	send     Sender
	res      *Results
	queue    chan job
	queued   atomic.Int64 // body bytes held by the queue
	sendCtx  context.Context
	inflight sync.WaitGroup
	repeats  *repeats
	sent     int64 // on the reading goroutine only
	drops    int64 // counted so far; under dropsMu
	dropsMu  sync.Mutex
}

func (t *tapper) countDrops(now int64) {
	t.dropsMu.Lock()
	defer t.dropsMu.Unlock()
	for ; t.drops < now; t.drops++ {
		t.res.Skip("", ReasonKernelDrop)
	}
}

// take counts rec or starts its exchange.
func (t *tapper) take(ctx context.Context, rec *replay.Record) {
	req := rec.Request
	ep := ""
	if req.Method != "" {
		ep = t.res.Endpoint(req.Method, req.URI)
	}
	if rec.Response != nil {
		t.res.observeLegacy(rec.Response)
	}
	reason := rec.Skip
	switch {
	case reason != "":
	case rec.ResponseLost != "":
		reason = rec.ResponseLost // legacy's answer, what is compared, is damaged
	case rec.Response == nil:
		reason = ReasonNoResponse
	case !t.cfg.Unsafe && !replay.Safe(req.Method):
		reason = replay.ReasonUnsafe
	case ctx.Err() != nil:
		reason = replay.ReasonInterrupted
	}
	if reason != "" {
		t.res.Skip(ep, reason)
		return
	}
	if t.cfg.Host != "" {
		req.Host = t.cfg.Host
	}
	first := t.repeats.seen(rec)
	size := int64(len(req.Body) + len(rec.Response.Body))
	if t.queued.Add(size) > t.cfg.QueueBytes {
		t.queued.Add(-size)
		t.res.Skip(ep, ReasonQueueFull)
		return
	}
	select {
	case t.queue <- job{rec, req, first, size}:
		t.sent++
	default:
		t.queued.Add(-size)
		t.res.Skip(ep, ReasonQueueFull)
	}
}

// job is one exchange waiting for a sender.
type job struct {
	rec *replay.Record
	req diff.Request
	// first is legacy's earlier answer to the same request, a noise
	// sample with this one (nil: none due).
	first *diff.Response
	size  int64
}

// worker runs exchanges until the queue is closed. Comparing is done
// here, not on the reading goroutine, which must keep up with the capture.
func (t *tapper) worker() {
	for j := range t.queue {
		t.queued.Add(-j.size)
		if j.first != nil {
			t.res.AddNoiseSample(j.req, j.first, j.rec.Response)
		}
		t.res.Add(t.exchange(j.rec, &j.req))
	}
}

// exchange sends req to the candidate (and the secondary, at once).
func (t *tapper) exchange(rec *replay.Record, req *diff.Request) *diff.Exchange {
	ex := &diff.Exchange{Time: rec.Time, Request: *req, Legacy: rec.Response}
	var wg sync.WaitGroup
	if t.cfg.Secondary != nil {
		wg.Go(func() { ex.Secondary = t.send.Do(t.sendCtx, t.cfg.Secondary, req) })
	}
	ex.Candidate = t.send.Do(t.sendCtx, t.cfg.Candidate, req)
	wg.Wait()
	return ex
}
