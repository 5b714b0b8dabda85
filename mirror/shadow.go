package mirror

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/upstream"
)

// pair is one request on its way to both sides. The handler puts both on
// the wire at the same moment of load and reads the primary, a shadow
// worker the shadow; the one that finishes second hands the pair to
// settle, so that it is counted exactly once.
type pair struct {
	endpoint string
	time     time.Time
	req      diff.Request
	primary  side
	acct     *account

	left atomic.Int32 // sides still running, from 2

	shadowOut *upstream.Outgoing
	pending   upstream.Pending // the shadow, started by the handler
	// after, when set, is the previous shadow of the same client
	// connection, still running when this one was submitted: this one is
	// sent when that one is done, as the client itself sent its requests
	// one after the other.
	after *pair
	done  chan struct{} // closed when the shadow's answer is in

	primaryAnswer *diff.Response
	primarySkip   string
	shadow        *diff.Response
	secondary     *diff.Response
	noise         *diff.Response // legacy a second time, to learn noise
	shadowSkip    string
}

// shadowPool sends shadow copies from a bounded queue with a fixed number
// of workers, so that a slow or dead shadow costs the client nothing: when
// the queue is full, copies are dropped (and counted), never waited for.
type shadowPool struct {
	cfg     Config
	send    sender
	targets [2]*url.URL
	settle  func(*pair)
	log     zerolog.Logger

	// noiseLeft is how many more safe requests are sent to legacy a second
	// time to learn its noise (none with a secondary).
	noiseLeft atomic.Int64

	jobs     chan *pair
	queuedN  atomic.Int64 // jobs queued, never above cfg.QueueSize
	mu       sync.RWMutex // guards closed against sends on a closed channel
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
	workers  sync.WaitGroup
	settling sync.WaitGroup // settles started by a primary that finished last
	inFlight atomic.Int64
}

func newShadowPool(cfg Config, send sender, targets [2]*url.URL, settle func(*pair), log zerolog.Logger) *shadowPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &shadowPool{
		cfg: cfg, send: send, targets: targets, settle: settle, log: log,
		jobs: make(chan *pair, cfg.QueueSize),
		ctx:  ctx, cancel: cancel,
	}
	p.workers.Add(cfg.Workers)
	for range cfg.Workers {
		go p.work()
	}
	return p
}

// submit puts the shadow of j on the wire together with primary, the
// request it copies (upstream.StartTogether: back to back, in a random
// order, without waiting), and queues it for a worker to finish; or it
// says why it cannot, ReasonQueueFull or ReasonShutdown, and starts
// nothing. A shadow that must wait for the previous one of its client
// connection is left for its worker to send, and primary goes alone.
func (p *shadowPool) submit(j *pair, conn *clientConn, primary upstream.Pending) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ReasonShutdown
	}
	if p.queuedN.Add(1) > int64(p.cfg.QueueSize) {
		p.queuedN.Add(-1)
		return ReasonQueueFull
	}
	j.left.Store(2)
	j.shadowOut = p.outgoing(j)
	if conn != nil {
		j.done = make(chan struct{})
		// One link at most: a shadow slower than the primary request after
		// request would otherwise chain every copy of the connection
		// behind the previous one, and hold a worker for each.
		if prev := conn.swap(j); prev != nil && prev.after == nil && !prev.shadowIn() {
			j.after = prev
		}
	}
	if j.after == nil {
		j.pending = p.send.Prepare(p.targets[j.primary.other()], j.shadowOut)
		upstream.StartTogether(primary, j.pending)
	} else {
		primary.Start()
	}
	p.jobs <- j // never blocks: queuedN keeps a slot
	return ""
}

func (p *shadowPool) queued() int { return int(p.queuedN.Load()) }

func (p *shadowPool) work() {
	defer p.workers.Done()
	for j := range p.jobs {
		p.queuedN.Add(-1)
		p.inFlight.Add(1)
		p.sendShadow(j)
		p.inFlight.Add(-1)
		if j.left.Add(-1) == 0 {
			p.settle(j)
		}
	}
}

// primaryDone hands the primary's answer to the pair; skip, when set, says
// why the pair cannot be compared. It never waits: when the shadow is
// done already, the pair is settled on a goroutine of the pool's, not on
// the client's.
func (p *shadowPool) primaryDone(j *pair, answer *diff.Response, skip string) {
	j.primaryAnswer, j.primarySkip = answer, skip
	if j.left.Add(-1) == 0 {
		p.settling.Go(func() { p.settle(j) })
	}
}

func (p *shadowPool) sendShadow(j *pair) {
	var wg sync.WaitGroup
	var secondary *diff.Response
	if p.cfg.Secondary != nil {
		wg.Go(func() { secondary = p.send.Send(p.ctx, p.cfg.Secondary, p.outgoing(j)) })
	}
	out := j.shadowOut
	var shadow *diff.Response
	if j.after != nil {
		select {
		case <-j.after.done:
		case <-p.ctx.Done():
		}
		shadow = p.send.Send(p.ctx, p.targets[j.primary.other()], out)
	} else {
		shadow = j.pending.Finish(p.ctx)
	}
	if j.done != nil {
		close(j.done)
	}
	wg.Wait()
	j.shadow, j.secondary = shadow, secondary
	switch {
	case p.ctx.Err() != nil:
		j.shadowSkip = ReasonShutdown // cut off by shutdown: not the shadow's failure
	case out.OverBudget:
		j.shadowSkip = ReasonBodyBudget
	case shadow.Err == "" && shadow.BodyTruncated:
		j.shadowSkip = ReasonBodyOverCap
	case diff.NoiseLearnable(j.req.Method) && p.noiseLeft.Load() > 0 && p.noiseLeft.Add(-1) >= 0:
		// Without a secondary, legacy answers a safe request once more:
		// how request ids, timestamps and the like are told from real
		// differences.
		j.noise = p.send.Send(p.ctx, p.targets[sideLegacy], p.outgoing(j))
	}
}

func (p *shadowPool) outgoing(j *pair) *upstream.Outgoing {
	return &upstream.Outgoing{Req: &j.req, Keep: p.cfg.MaxBody + 1, Budget: j.acct}
}

// close stops taking jobs and drains the queue until ctx is done; then it
// cancels what is still being sent, so every job ends counted.
func (p *shadowPool) close(ctx context.Context) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.jobs)
	p.mu.Unlock()

	done := make(chan struct{})
	go func() {
		p.workers.Wait()
		p.settling.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		p.log.Warn().Int("queued", len(p.jobs)).Int64("in_flight", p.inFlight.Load()).Msg("shadow drain timed out; counting the rest as shutdown")
		p.cancel()
		<-done
	}
	p.cancel()
}

// shadowIn reports whether the shadow has answered, read or not yet read
// by its worker: its target is then done with it.
func (j *pair) shadowIn() bool {
	select {
	case <-j.done:
		return true
	default:
		return j.pending != nil && j.pending.Answered()
	}
}

// clientConn is one client connection's last shadowed request. A client on
// an HTTP/1 connection sends its requests one after the other; the shadow
// copies of one connection go the same way, so that the shadow sees the
// load the primary sees: under a closed loop (wrk, a browser), copies sent
// regardless would pile up on the shadow whenever it answered later than
// the primary, and judge it slower for it.
type clientConn struct {
	mu   sync.Mutex
	last *pair
}

func (c *clientConn) swap(j *pair) *pair {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.last
	c.last = j
	return prev
}

type clientConnKey struct{}

// ConnContext gives each client connection the state that keeps its shadow
// copies in order; set it as the http.Server's ConnContext when serving a
// Mirror (Listen does). Without it, copies are not ordered.
func ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, clientConnKey{}, &clientConn{})
}

// connOf is r's connection state, for HTTP/1 only: HTTP/2 streams of one
// connection run side by side.
func connOf(r *http.Request) *clientConn {
	if r.ProtoMajor != 1 {
		return nil
	}
	c, _ := r.Context().Value(clientConnKey{}).(*clientConn)
	return c
}
