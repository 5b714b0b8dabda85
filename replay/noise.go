package replay

import (
	"context"
	"errors"
	"sync"

	"github.com/cutover/cutover/diff"
)

var errEnough = errors.New("enough requests")

// learnNoise runs before the replay when there is no secondary: it reads
// the first n requests safe to send twice (diff.NoiseLearnable) the replay will send, sends each to legacy
// twice and hands both answers to the sink as noise, so that request ids,
// timestamps and the like are known as noise before the first exchange is
// judged. The requests are replayed as usual afterwards; these extra
// copies are not counted as requests.
func learnNoise(ctx context.Context, cfg Config, send Sender, learner Sink, n int) error {
	var reqs []diff.Request
	for _, f := range cfg.Files {
		_, err := readFile(ctx, f, cfg.Read, func(r *Record) error {
			if r.Skip == "" && diff.NoiseLearnable(r.Request.Method) && cfg.Filter.Match(&r.Request) {
				req := r.Request
				if cfg.Host != "" {
					req.Host = cfg.Host
				}
				reqs = append(reqs, req)
			}
			if len(reqs) >= n {
				return errEnough
			}
			return nil
		}, nil)
		if err != nil && !errors.Is(err, errEnough) {
			return err // the replay itself reports a bad file, once
		}
		if len(reqs) >= n {
			break
		}
	}
	work := make(chan diff.Request)
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, 16) {
		wg.Go(func() {
			for req := range work {
				first := send.Do(ctx, cfg.Legacy, &req)
				second := send.Do(ctx, cfg.Legacy, &req)
				learner.AddNoiseSample(req, first, second)
			}
		})
	}
	for _, req := range reqs {
		select {
		case work <- req:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	return nil
}
