package replay

import (
	"context"
	"io"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/upstream"
)

// Sender sends one request to one target and never returns nil: a
// transport failure is a Response with Err. Prepare readies a request so
// that the sides of one exchange go on the wire together
// (upstream.StartTogether). *upstream.Client is one.
type Sender interface {
	Do(ctx context.Context, base *url.URL, req *diff.Request) *diff.Response
	Prepare(base *url.URL, out *upstream.Outgoing) upstream.Pending
}

var _ Sender = (*upstream.Client)(nil)

// Sink takes the outcome of every request read, and learns legacy's own
// noise from two legacy answers to one request: *diff.Aggregator is one.
type Sink interface {
	Add(ex *diff.Exchange)
	Skip(endpoint, reason string)
	Endpoint(method, uri string) string
	AddNoiseSample(req diff.Request, first, second *diff.Response)
}

var _ Sink = (*diff.Aggregator)(nil)

// ReasonNoRecording: --against-recorded, and the capture holds no answer.
const ReasonNoRecording = "no_recorded_response"

// maxOpenLoop caps in-flight exchanges when pacing: the schedule is
// open-loop (a slow target does not delay it) up to this many.
const maxOpenLoop = 10000

// Config says what to replay, where to and how fast.
type Config struct {
	Files                        []string
	Legacy, Candidate, Secondary *url.URL
	// Host, when set, replaces every request's Host header.
	Host string
	// Speed scales the captured pace (2 = twice as fast); 0 sends as fast
	// as Concurrency allows.
	Speed float64
	// Concurrency caps in-flight exchanges at Speed 0. Zero means 64.
	Concurrency int
	// Rate caps sends per second (0: no cap).
	Rate float64
	// Limit stops after this many requests sent (0: all).
	Limit int
	// Unsafe also replays POST, PUT, PATCH, DELETE and other unsafe methods.
	Unsafe bool
	// AgainstRecorded compares the candidate with the answer recorded in
	// the capture instead of a live legacy.
	AgainstRecorded bool
	// NoiseSamples, without a Secondary, is how many of the first safe
	// requests are sent to legacy twice before the replay starts, so that
	// the diff engine knows what legacy varies on by itself (request ids,
	// timestamps) before it judges the first exchange (see learnNoise).
	// Zero means diff.DefaultNoiseSamples; negative turns it off.
	NoiseSamples int
	Filter       Filter
	Read         ReadConfig
	// Progress, when set, gets a progress line (meant for a terminal).
	Progress   io.Writer
	Differents func() int64 // differences so far, for the progress line
}

// Result is what a replay did besides what the sink counted.
type Result struct {
	Stats Stats // what the reader found
	Sent  int
	// Pacing is how late requests were sent against their schedule.
	Pacing      *diff.Percentiles
	Interrupted bool
	// Elapsed is the time from the start of sending to the last answer.
	Elapsed time.Duration
}

// Run reads cfg.Files and replays every request to the targets, handing
// each exchange (or the reason it was not sent) to sink: every record read
// is counted exactly once, also when ctx is cancelled, in which case
// requests not yet sent are skipped as interrupted and those in flight
// finish (bounded by the sender's timeout). A file that cannot be read
// stops the run with its error once in-flight exchanges are done.
func Run(ctx context.Context, cfg Config, send Sender, sink Sink, log zerolog.Logger) (Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.AgainstRecorded {
		cfg.Read.Responses = true
	}
	if cfg.Secondary == nil && !cfg.AgainstRecorded && cfg.NoiseSamples >= 0 {
		n := cfg.NoiseSamples
		if n == 0 {
			n = diff.DefaultNoiseSamples
		}
		if err := learnNoise(ctx, cfg, send, sink, n); err != nil && ctx.Err() == nil {
			log.Debug().Err(err).Msg("noise learning stopped early")
		}
	}
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	// Each record travels with the file bytes read when it came out, so
	// that the progress line's ETA follows the sends, not the reader ahead.
	type item struct {
		rec  *Record
		read int64
	}
	recs := make(chan item, 256)
	var res Result
	var readErr error
	var readDone sync.WaitGroup
	var total int64 // bytes of all files, for the ETA
	for _, f := range cfg.Files {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	var read, sentRead atomic.Int64
	readDone.Go(func() {
		defer close(recs)
		for _, f := range cfg.Files {
			st, err := readFile(readCtx, f, cfg.Read, func(r *Record) error {
				select {
				case recs <- item{r, read.Load()}:
					return nil
				case <-readCtx.Done():
					return readCtx.Err()
				}
			}, &read)
			res.Stats.Add(st)
			if err != nil {
				if readCtx.Err() == nil { // else: stopped on purpose (limit, interrupt)
					readErr = err
				}
				return
			}
			log.Debug().Str("file", f).Int("requests", st.Requests).Msg("capture read")
		}
	})
	p := startProgress(cfg.Progress, cfg.Differents, func() float64 {
		if total <= 0 {
			return 0
		}
		return float64(sentRead.Load()) / float64(total)
	})
	defer p.stop()

	slots := cfg.Concurrency
	if cfg.Speed > 0 {
		slots = max(slots, maxOpenLoop)
	}
	r := &runner{cfg: cfg, send: send, sink: sink, slots: slots, work: make(chan job),
		sched: newSchedule(cfg.Speed, cfg.Rate), late: newLateness(), progress: p,
		sendCtx: context.WithoutCancel(ctx)}
	start := time.Now()
	for it := range recs {
		if r.dispatch(ctx, it.rec) && cfg.Limit > 0 && r.sent >= cfg.Limit {
			stopReading()
		}
		sentRead.Store(it.read)
	}
	close(r.work)
	r.inflight.Wait()
	res.Elapsed = time.Since(start)
	readDone.Wait()
	res.Sent, res.Pacing = r.sent, r.late.percentiles()
	res.Interrupted = ctx.Err() != nil
	return res, readErr
}

// runner replays records one by one. Exchanges run on worker goroutines
// it owns: a worker is started when every running one is busy, up to the
// number of in-flight exchanges allowed, and then takes exchange after
// exchange until the runner closes work; starting a goroutine for every
// exchange cost more scheduling and stack growth than the hand-off.
type runner struct {
	cfg      Config
	send     Sender
	sink     Sink
	slots    int      // the most exchanges in flight, hence workers
	workers  int      // started so far
	work     chan job // to idle workers; closed when no more come
	sched    *schedule
	late     *lateness
	progress *progress
	sendCtx  context.Context
	inflight sync.WaitGroup // the workers
	sent     int
	timer    *time.Timer
}

// job is one exchange to run: its record and when it was due.
type job struct {
	rec *Record
	due time.Time
}

// dispatch counts rec or sends it when due; it reports whether it sent.
func (r *runner) dispatch(ctx context.Context, rec *Record) bool {
	ep := ""
	if rec.Request.Method != "" {
		ep = r.sink.Endpoint(rec.Request.Method, rec.Request.URI)
	}
	reason := rec.Skip
	switch {
	case reason != "":
	case ctx.Err() != nil:
		reason = ReasonInterrupted
	case r.cfg.Limit > 0 && r.sent >= r.cfg.Limit:
		reason = ReasonLimit
	case !r.cfg.Filter.Match(&rec.Request):
		reason = ReasonFiltered
	case !r.cfg.Unsafe && !safe(rec.Request.Method):
		reason = ReasonUnsafe
	case r.cfg.AgainstRecorded && rec.ResponseLost != "":
		reason = rec.ResponseLost // what it would be compared with is damaged
	case r.cfg.AgainstRecorded && rec.Response == nil:
		reason = ReasonNoRecording
	}
	if reason == "" {
		due := r.sched.at(rec.Time, time.Now())
		if !r.wait(ctx, due) || !r.hand(ctx, job{rec, due}) {
			reason = ReasonInterrupted
		}
	}
	if reason != "" {
		r.sink.Skip(ep, reason)
		r.progress.done()
		return false
	}
	r.sent++
	return true
}

// hand gives j to an idle worker, else to a new one while fewer than
// slots run, else to the first worker done; false when ctx ended first.
func (r *runner) hand(ctx context.Context, j job) bool {
	select {
	case r.work <- j:
		return true
	default:
	}
	if r.workers < r.slots {
		r.workers++
		r.inflight.Go(func() { r.worker(j) })
		return true
	}
	select {
	case r.work <- j:
		return true
	case <-ctx.Done():
		return false
	}
}

// worker runs j, then every job it receives until work is closed.
func (r *runner) worker(j job) {
	for ok := true; ok; j, ok = <-r.work {
		if r.cfg.Speed > 0 {
			// Measured where the exchange starts sending, so that the
			// hand-off to a worker counts as lateness too.
			r.late.add(time.Since(j.due))
		}
		r.sink.Add(r.exchange(j.rec))
		r.progress.done()
	}
}

// spinWindow is how long before a send is due the dispatcher stops
// sleeping on a timer and yields in a loop instead: the runtime's timers
// wake up to a millisecond late (the poller waits in whole milliseconds),
// which alone would put the p99 of pacing over 1 ms.
const spinWindow = time.Millisecond

// wait sleeps until due; false when ctx ended first.
func (r *runner) wait(ctx context.Context, due time.Time) bool {
	if d := time.Until(due) - spinWindow; d > 0 {
		if r.timer == nil {
			r.timer = time.NewTimer(d)
		} else {
			r.timer.Reset(d)
		}
		select {
		case <-r.timer.C:
		case <-ctx.Done():
			r.timer.Stop()
			return false
		}
	}
	for time.Now().Before(due) {
		if ctx.Err() != nil {
			return false
		}
		runtime.Gosched() // senders and the reader run meanwhile
	}
	return ctx.Err() == nil
}

// exchange sends one request to every target at once: every side put on
// the wire back to back from this goroutine, in a random order (a fixed
// one would make the side written first look slower), then read each on
// its own goroutine.
func (r *runner) exchange(rec *Record) *diff.Exchange {
	req := rec.Request
	if r.cfg.Host != "" {
		req.Host = r.cfg.Host
	}
	ex := &diff.Exchange{Time: rec.Time, Request: req}
	type side struct {
		answer **diff.Response
		sent   upstream.Pending
	}
	var sides []side
	add := func(base *url.URL, answer **diff.Response) {
		sides = append(sides, side{answer, r.send.Prepare(base, &upstream.Outgoing{Req: &req})})
	}
	if r.cfg.AgainstRecorded {
		ex.Legacy = rec.Response
	} else {
		add(r.cfg.Legacy, &ex.Legacy)
	}
	if r.cfg.Secondary != nil {
		add(r.cfg.Secondary, &ex.Secondary)
	}
	add(r.cfg.Candidate, &ex.Candidate)
	sent := make([]upstream.Pending, len(sides))
	for i, s := range sides {
		sent[i] = s.sent
	}
	upstream.StartTogether(sent...)
	var wg sync.WaitGroup
	for _, s := range sides[1:] {
		wg.Go(func() { *s.answer = s.sent.Finish(r.sendCtx) })
	}
	*sides[0].answer = sides[0].sent.Finish(r.sendCtx)
	wg.Wait()
	return ex
}
