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

// shadowJob is one request to copy to the shadow side, with the answer the
// primary already gave.
type shadowJob struct {
	endpoint      string
	time          time.Time
	req           diff.Request
	primary       side
	primaryAnswer *diff.Response
}

// shadowPool sends shadow copies from a bounded queue with a fixed number
// of workers, so that a slow or dead shadow costs the client nothing: when
// the queue is full, copies are dropped (and counted), never waited for.
//
// Copies are sent after the primary has answered, with the request body as
// the primary read it; the two sides are therefore not measured at the same
// instant, which the latency comparison tolerates by working on
// distributions, not pairs.
type shadowPool struct {
	cfg     Config
	client  *upstream.Client
	targets [2]*url.URL
	record  func(*diff.Exchange)
	skip    func(endpoint, reason string)
	log     zerolog.Logger

	// noise receives legacy-against-itself samples while noiseLeft > 0;
	// nil when the recorder cannot learn noise or a secondary measures it.
	noise     func(req diff.Request, first, second *diff.Response)
	noiseLeft atomic.Int64

	jobs     chan *shadowJob
	bytes    atomic.Int64 // body bytes held by queued and in-flight jobs
	mu       sync.RWMutex // guards closed against sends on a closed channel
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	inFlight atomic.Int64
}

func newShadowPool(cfg Config, client *upstream.Client, record func(*diff.Exchange), skip func(endpoint, reason string), log zerolog.Logger) *shadowPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &shadowPool{
		cfg: cfg, client: client, record: record, skip: skip, log: log,
		targets: [2]*url.URL{sideLegacy: cfg.Legacy, sideCandidate: cfg.Candidate},
		jobs:    make(chan *shadowJob, cfg.QueueSize),
		ctx:     ctx, cancel: cancel,
	}
	p.wg.Add(cfg.Workers)
	for range cfg.Workers {
		go p.work()
	}
	return p
}

// submit queues j, or says why it cannot: "queue_full" or "shutdown".
func (p *shadowPool) submit(j *shadowJob) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return "shutdown"
	}
	size := j.size()
	if p.bytes.Add(size) > p.cfg.QueueBytes {
		p.bytes.Add(-size)
		return "queue_full"
	}
	select {
	case p.jobs <- j:
		return ""
	default:
		p.bytes.Add(-size)
		return "queue_full"
	}
}

// size is what a job holds in memory, near enough.
func (j *shadowJob) size() int64 {
	return int64(len(j.req.Body) + len(j.primaryAnswer.Body) + 1024)
}

func (p *shadowPool) queued() int { return len(p.jobs) }

func (p *shadowPool) work() {
	defer p.wg.Done()
	for j := range p.jobs {
		p.inFlight.Add(1)
		p.send(j)
		p.inFlight.Add(-1)
		p.bytes.Add(-j.size())
	}
}

func (p *shadowPool) send(j *shadowJob) {
	shadowSide := j.primary.other()
	var secondary *diff.Response
	var wg sync.WaitGroup
	if p.cfg.Secondary != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secondary = p.client.Do(p.ctx, p.cfg.Secondary, &j.req)
		}()
	}
	shadow := p.client.Do(p.ctx, p.targets[shadowSide], &j.req)
	wg.Wait()
	p.learnNoise(j, shadow)
	if p.ctx.Err() != nil {
		// Cut off by shutdown: not the shadow's failure.
		p.skip(j.endpoint, "shutdown")
		return
	}
	if shadow.Err == "" && int64(len(shadow.Body)) > p.cfg.MaxBody {
		p.skip(j.endpoint, "body_over_cap")
		return
	}
	ex := &diff.Exchange{Time: j.time, Request: j.req, Secondary: secondary}
	if j.primary == sideLegacy {
		ex.Legacy, ex.Candidate = j.primaryAnswer, shadow
	} else {
		ex.Legacy, ex.Candidate = shadow, j.primaryAnswer
	}
	p.record(ex)
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
		p.wg.Wait()
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
	p.client.Close()
}

// learnNoise sends a safe request to legacy once more, while samples are
// wanted, and hands both legacy answers to the diff engine: without a
// secondary this is how request ids, timestamps and the like are told from
// real differences.
func (p *shadowPool) learnNoise(j *shadowJob, shadow *diff.Response) {
	if p.noise == nil || (j.req.Method != "GET" && j.req.Method != "HEAD") || p.noiseLeft.Add(-1) < 0 {
		return
	}
	first := j.primaryAnswer
	if j.primary != sideLegacy {
		first = shadow
	}
	second := p.client.Do(p.ctx, p.targets[sideLegacy], &j.req)
	if p.ctx.Err() == nil {
		p.noise(j.req, first, second)
	}
}
