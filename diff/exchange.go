// Package diff decides whether the candidate answers like the legacy: it
// normalises and compares answers, cancels noise, groups exchanges by
// endpoint, aggregates counts and latency, and renders the summary JSON.
//
// The package does no I/O: sources (mirror, replay) hand it exchanges and
// reports render what it returns.
package diff

import (
	"net/http"
	"time"
)

// Request is the request of an exchange, as sent to every target.
type Request struct {
	Method string
	// URI is the request target as sent: path and query.
	URI    string
	Host   string
	Header http.Header
	Body   []byte
}

// Response is one target's answer to a request, with its timing.
//
// A Response with a non-empty Err carries no HTTP answer: the target
// refused, reset or timed out. Body is the body as received on the wire
// (still content-encoded); BodyTruncated is set when the source stopped
// capturing it at a size cap.
type Response struct {
	Status        int
	Proto         string
	Header        http.Header
	Trailer       http.Header
	Body          []byte
	BodyTruncated bool

	// TTFB is the time from sending the request to the first byte of the
	// answer; Total the time to its last byte.
	TTFB  time.Duration
	Total time.Duration

	// Err describes a transport failure: no HTTP answer was received.
	Err string
}

// Failed reports whether the target gave no HTTP answer.
func (r *Response) Failed() bool { return r == nil || r.Err != "" }

// Exchange is one request and the answers of every target. Secondary is nil
// when no second legacy instance is configured.
type Exchange struct {
	Time      time.Time
	Request   Request
	Legacy    *Response
	Candidate *Response
	Secondary *Response
	// Weight is the share (percent) of live traffic the candidate served
	// when the request came in, set by sources that split traffic (the
	// mirror); the time series and the summary's provenance show it.
	Weight float64
}
