package tap

import (
	"strings"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/replay"
)

// Noise without a second request to legacy: clients ask the same thing
// again and again (a health check, a popular item), and two answers of
// legacy to the same safe request a few seconds apart differ only where
// legacy differs from itself (request ids, timestamps). Those pairs are
// handed to the aggregator as noise samples.

// maxRepeats bounds the requests remembered; maxRepeatBody the bodies
// kept. sampleEvery spaces the samples of one request: a popular request
// comes back thousands of times a second, and one comparison of legacy
// with itself a second says what another thousand would, at a fraction of
// the CPU the capture needs.
const (
	maxRepeats    = 4096
	maxRepeatBody = 64 << 10
	sampleEvery   = time.Second
)

// repeats remembers the last answer of legacy to recent safe requests.
type repeats struct {
	window time.Duration
	last   map[string]repeat
}

type repeat struct {
	at      time.Time
	resp    *diff.Response
	sampled time.Time // the last sample of this request
}

func newRepeats(window time.Duration) *repeats {
	return &repeats{window: window, last: map[string]repeat{}}
}

// seen records rec's answer and returns legacy's earlier answer to the
// same request when it came within the window and no sample of this
// request was taken in the last sampleEvery, else nil.
func (r *repeats) seen(rec *replay.Record) *diff.Response {
	if !replay.Safe(rec.Request.Method) || rec.Response == nil || len(rec.Response.Body) > maxRepeatBody {
		return nil
	}
	k := repeatKey(&rec.Request)
	prev, ok := r.last[k]
	if len(r.last) >= maxRepeats && !ok {
		clear(r.last) // a fresh start costs a few samples, not memory
	}
	cur := repeat{at: rec.Time, resp: rec.Response, sampled: prev.sampled}
	due := ok && rec.Time.Sub(prev.at) <= r.window && prev.resp.Status == rec.Response.Status &&
		rec.Time.Sub(prev.sampled) >= sampleEvery
	if due {
		cur.sampled = rec.Time
	}
	r.last[k] = cur
	if due {
		return prev.resp
	}
	return nil
}

// repeatKey is what makes two requests the same for their answer: the
// request line, the host and the headers answers commonly vary on.
func repeatKey(req *diff.Request) string {
	var b strings.Builder
	b.WriteString(req.Method)
	b.WriteByte(' ')
	b.WriteString(req.Host)
	b.WriteString(req.URI)
	for _, h := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Cookie", "Authorization", "Range", "If-None-Match", "If-Modified-Since"} {
		b.WriteByte('\n')
		b.WriteString(strings.Join(req.Header.Values(h), ","))
	}
	return b.String()
}
