package mirror

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/upstream"
)

// pair is one request on its way to both sides. The handler sends the
// primary, a shadow worker the shadow, at the same moment of load; the
// one that finishes second hands the pair to settle, so that it is counted
// exactly once.
type pair struct {
	endpoint string
	time     time.Time
	req      diff.Request
	primary  side
	acct     *account

	left atomic.Int32 // sides still running, from 2

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

// submit queues j, or says why it cannot: ReasonQueueFull or
// ReasonShutdown.
func (p *shadowPool) submit(j *pair) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ReasonShutdown
	}
	j.left.Store(2)
	select {
	case p.jobs <- j:
		return ""
	default:
		return ReasonQueueFull
	}
}

func (p *shadowPool) queued() int { return len(p.jobs) }

func (p *shadowPool) work() {
	defer p.workers.Done()
	for j := range p.jobs {
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
	shadowSide := j.primary.other()
	var wg sync.WaitGroup
	var secondary *diff.Response
	if p.cfg.Secondary != nil {
		wg.Go(func() { secondary = p.send.Send(p.ctx, p.cfg.Secondary, p.outgoing(j)) })
	}
	out := p.outgoing(j)
	shadow := p.send.Send(p.ctx, p.targets[shadowSide], out)
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
