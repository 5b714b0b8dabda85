// Package replay reads HTTP/1.x requests out of captures (pcap, pcapng,
// either gzip-compressed, and HAR 1.2) and re-sends them to the legacy and
// the candidate at the captured pace, handing each exchange to the diff
// engine.
//
// Reading is faithful: every request in a capture is found, nothing is
// invented, and what cannot be replayed is emitted as a Record with a Skip
// reason, so that counts always add up. TCP is reassembled in both
// directions in bounded memory, streams are parsed by a push parser fed by
// the reassembler (no goroutine per stream), and answers are paired with
// requests in order, using TCP acknowledgements to stay right across
// captures that start mid-flow or lost segments.
package replay

import (
	"time"

	"github.com/cutover/cutover/diff"
)

// Record is one HTTP request found in a source, with the answer recorded
// alongside it when the source holds one; or, with Skip set, one unit that
// cannot be replayed (a request cut by a gap, a malformed message, a TLS
// connection, ...).
type Record struct {
	// Time is the capture time of the request's first byte.
	Time time.Time
	// Client and Server are ip:port ("" for HAR entries without them).
	Client, Server string
	Proto          string
	Request        diff.Request
	// Response is the answer recorded in the source, nil when it holds
	// none. Its TTFB and Total are as captured.
	Response *diff.Response
	// ResponseLost, for a request found whole, is why the capture holds
	// no (whole) answer to it although the server sent one: ReasonGap
	// (bytes missing), ReasonIncomplete (the capture ended inside it),
	// ReasonMalformed, ... Response is then nil. The request is still
	// replayable; only a comparison with the recorded answer is not.
	ResponseLost string
	// Skip is why the unit is not replayed (one of the Reason constants),
	// "" for a request found whole.
	Skip string
}

// Stats describes what a reader went through.
type Stats struct {
	Packets   int `json:"packets"`
	Truncated int `json:"truncated_packets"` // shorter than on the wire (snap length)
	NotTCP    int `json:"not_tcp_packets"`
	Streams   int `json:"streams"`
	// Requests counts requests found whole; Responses those with a
	// recorded answer; Orphans answers whose request is not in the source.
	Requests  int `json:"requests"`
	Responses int `json:"responses"`
	Orphans   int `json:"orphan_responses"`
	// ResponsesLost counts requests found whole whose answer the capture
	// lost or holds damaged (Record.ResponseLost).
	ResponsesLost int            `json:"responses_lost"`
	Skipped       map[string]int `json:"skipped"`
}

func (s *Stats) skip(reason string) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[reason]++
}

// count counts a record handed out.
func (s *Stats) count(rec *Record) {
	if rec.Skip != "" {
		s.skip(rec.Skip)
		return
	}
	s.Requests++
	if rec.Response != nil {
		s.Responses++
	}
	if rec.ResponseLost != "" {
		s.ResponsesLost++
	}
}

// Add folds o into s (several files read in one run).
func (s *Stats) Add(o Stats) {
	s.Packets += o.Packets
	s.Truncated += o.Truncated
	s.NotTCP += o.NotTCP
	s.Streams += o.Streams
	s.Requests += o.Requests
	s.Responses += o.Responses
	s.Orphans += o.Orphans
	s.ResponsesLost += o.ResponsesLost
	for k, v := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[string]int{}
		}
		s.Skipped[k] += v
	}
}

// ReadConfig tunes reading. The zero value is usable.
type ReadConfig struct {
	// MaxBody caps the body bytes kept per message; a request with a
	// larger body is skipped as body_over_cap. Zero means 8 MiB.
	MaxBody int
	// Responses keeps the recorded answers' headers and bodies (for
	// comparing against the recording); without it only their status is
	// kept (Header is nil).
	Responses bool
	// FramingHeadersOnly keeps no headers (Header is nil); the Host is
	// still read: enough to list requests (cutover inspect), not to
	// replay them.
	FramingHeadersOnly bool
	// Workers spreads TCP reassembly and HTTP parsing over this many
	// goroutines, connections split between them; records, their order and
	// the stats stay those of a read on one goroutine, which zero or one
	// means. emit is always called from the caller's goroutine.
	Workers int
	// FlushAfter is how long, in capture time, a direction waits for a
	// missing segment before the gap is accepted. Zero means 2s.
	FlushAfter time.Duration
	// TLSKeys decrypts TLS connections whose secrets it holds (see
	// KeyLog); the secrets of a pcapng's Decryption Secrets Blocks are
	// added to it, or used alone when it is nil. Without any, TLS
	// connections are skipped as encrypted.
	TLSKeys *KeyLog
	// CloseAfter closes a connection idle this long in capture time, so
	// long captures stream in bounded memory. Zero means 2m.
	CloseAfter time.Duration
}

func (c ReadConfig) withDefaults() ReadConfig {
	if c.MaxBody <= 0 {
		c.MaxBody = 8 << 20
	}
	if c.FlushAfter <= 0 {
		c.FlushAfter = 2 * time.Second
	}
	if c.CloseAfter <= 0 {
		c.CloseAfter = 2 * time.Minute
	}
	return c
}
