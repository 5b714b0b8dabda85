package replay

import (
	"context"
	"errors"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ErrIdle is what a live PacketSource returns when no packet came for a
// while: the CaptureInfo's Timestamp is then the clock's, which moves the
// reader's time on so that idle connections are flushed and answers that
// never come are given up on, though no packet shows time passing.
var ErrIdle = errors.New("no packet yet")

// PacketSource is a live capture: the next packet with its link type, or
// ErrIdle, or an error that ends the read (io.EOF once closed).
type PacketSource interface {
	NextPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error)
}

// ReadSource reads a live capture as Read reads a file, in real time:
// records are emitted as soon as they are settled and in capture order,
// with the bounds of cfg on what is held. It returns when src fails (its
// error, io.EOF included) or ctx ends. Workers is not used: a live read
// runs on the caller's goroutine.
func ReadSource(ctx context.Context, src PacketSource, cfg ReadConfig, emit func(*Record) error) (Stats, error) {
	cfg.Workers = 0
	st, err := readPackets(ctx, liveSource{src}, func() int64 { return 0 }, cfg, emit)
	if err != nil {
		var oe *offsetError
		if errors.As(err, &oe) {
			err = fmt.Errorf("capture: %w", oe.err)
		}
	}
	return st, err
}

type liveSource struct{ src PacketSource }

func (s liveSource) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	return s.src.NextPacket()
}

// Safe reports whether a request with method may be sent again without
// changing state (GET, HEAD, OPTIONS, TRACE).
func Safe(method string) bool { return safe(method) }
