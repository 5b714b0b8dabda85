package replay

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// Reassembly memory bounds, in pages of about 1.9 KiB: out-of-order
// segments queue in these while a gap waits to be filled, so together with
// the capture-time flush they bound the reader's memory whatever the
// capture's size.
const (
	maxPagesTotal   = 1 << 15
	maxPagesPerConn = 1 << 11
)

// tcpReader turns a capture's packets into records. It owns the assembler
// and every connection; all of it runs on the caller's goroutine.
type tcpReader struct {
	cfg   ReadConfig
	emit  func(*Record) error
	err   error // the first error emit returned: reading stops
	stats Stats
	order order
	now   time.Time // capture time reached
}

// New is the reassembly.StreamFactory hook: one conn per TCP connection.
func (r *tcpReader) New(netFlow, _ gopacket.Flow, tcp *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	return newConn(r, netFlow, tcp)
}

func (r *tcpReader) respBody() int {
	if r.cfg.Responses {
		return r.cfg.MaxBody
	}
	return 0
}

type captureContext gopacket.CaptureInfo

func (c *captureContext) GetCaptureInfo() gopacket.CaptureInfo { return gopacket.CaptureInfo(*c) }

// offsetError marks a read error with where in the file it happened.
type offsetError struct {
	off int64
	err error
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }

// readPackets reads every packet of src and emits the records found, in
// capture order. It stops at the first error of the source or of emit.
func readPackets(ctx context.Context, src packetSource, offset func() int64, cfg ReadConfig, emit func(*Record) error) (Stats, error) {
	r := &tcpReader{cfg: cfg.withDefaults(), emit: emit}
	r.order.emit = r.record
	asm := reassembly.NewAssembler(reassembly.NewStreamPool(r))
	asm.MaxBufferedPagesTotal = maxPagesTotal
	asm.MaxBufferedPagesPerConnection = maxPagesPerConn
	var (
		d         decoder
		nextFlush time.Time
		ac        captureContext
	)
	for r.err == nil {
		if r.stats.Packets%4096 == 0 && ctx.Err() != nil {
			return r.stats, ctx.Err()
		}
		at := offset()
		data, ci, link, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("file ends inside a packet record (truncated capture)")
			}
			return r.stats, &offsetError{off: at, err: err}
		}
		r.stats.Packets++
		if ci.CaptureLength < ci.Length {
			r.stats.Truncated++
		}
		flow, tcp, ok := d.decode(link, data)
		if !ok {
			r.stats.NotTCP++
			continue
		}
		if ci.Timestamp.After(r.now) {
			r.now = ci.Timestamp
		}
		ac = captureContext(ci)
		asm.AssembleWithContext(flow, tcp, &ac)
		if r.now.After(nextFlush) {
			// Flushing follows capture time, not the clock: a gap waits
			// FlushAfter for its segment, an idle connection CloseAfter.
			asm.FlushWithOptions(reassembly.FlushOptions{T: r.now.Add(-r.cfg.FlushAfter), TC: r.now.Add(-r.cfg.CloseAfter)})
			r.order.pump(r.now)
			nextFlush = r.now.Add(time.Second)
		}
	}
	if r.err == nil {
		asm.FlushAll()
		r.order.pump(time.Time{})
		r.order.pump(r.now.Add(2 * holdFor)) // nothing is left waiting at the end
	}
	return r.stats, r.err
}
