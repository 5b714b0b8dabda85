package upstream

import (
	"context"
	"net/http/httptrace"
	"time"
)

// stopwatch times one round trip through a net/http client, the same way
// for the HTTP/1 over TLS and the HTTP/2 transports, so that both sides
// of a comparison are measured alike: from the moment the transport had a
// connection (or the call, when it reports none) to the first byte of the
// answer and on.
type stopwatch struct {
	called    time.Time
	start     time.Time // the round trip's zero
	firstByte time.Time // zero when the transport reported none
}

// trace returns ctx with the hooks that set the watch's times.
func (w *stopwatch) trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn:              func(httptrace.GotConnInfo) { w.start = time.Now() },
		GotFirstResponseByte: func() { w.firstByte = time.Now() },
	})
}

// call marks the call, just before the client's Do.
func (w *stopwatch) call() { w.called = time.Now() }

// returned is called once Do returned: a transport that reported no
// connection is timed from the call.
func (w *stopwatch) returned() {
	if w.start.IsZero() {
		w.start = w.called
	}
}

// since is the time from the round trip's zero to now.
func (w *stopwatch) since() time.Duration { return time.Since(w.start) }
