package replay

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
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
// and every connection; all of it runs on one goroutine: the caller's, or a
// shard's in a sharded read.
type tcpReader struct {
	cfg         ReadConfig
	emit        func(*Record) error
	err         error // the first error emit returned: reading stops
	stats       Stats
	order       order
	now         time.Time // capture time reached
	msgs        messages  // for every parser of every connection
	recs        []recordWithAnswer
	entries     []entry
	freeEntries []*entry

	// For a sharded read (shard.go): the packet being read, this reader's
	// shard and how many entries it found, which make entries' keys; and
	// keyed, which takes the records in place of emit.
	seq   uint64
	shard int
	n     uint64
	keyed func(key, *Record)

	// Connections a flush ends are settled after it (see flush).
	flushing bool
	closing  []*conn

	// Every 4-tuple the assembler holds a connection on (reuse.go), and
	// the one of the packet being assembled.
	tuples     map[tuple]*tupleState
	tuple      tuple
	tupleState *tupleState
}

// flush runs a flush of the assembler, then settles the connections it
// ended, oldest first. The entries found meanwhile are keyed by their
// connection's first packet and emitted only once it is over, so that the
// assembler's (map) order of connections shows nowhere in the output.
func (r *tcpReader) flush(run func()) {
	r.flushing = true
	run()
	slices.SortFunc(r.closing, func(a, b *conn) int { return cmp.Compare(a.first, b.first) })
	for i, c := range r.closing {
		c.settle()
		r.closing[i] = nil
	}
	r.closing = r.closing[:0]
	r.flushing = false
	r.order.pump(time.Time{})
}

// New is the reassembly.StreamFactory hook: one conn per TCP connection.
func (r *tcpReader) New(netFlow, _ gopacket.Flow, tcp *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	c := newConn(r, netFlow, tcp)
	r.track(c)
	return c
}

func (r *tcpReader) respBody() int {
	if r.cfg.Responses {
		return r.cfg.MaxBody
	}
	return 0
}

type captureContext gopacket.CaptureInfo

func (c *captureContext) GetCaptureInfo() gopacket.CaptureInfo { return gopacket.CaptureInfo(*c) }

// contexts hands out one captureContext per packet: the assembler keeps the
// context of a segment it queues (out of order) and asks it for the
// segment's capture time when the segment is delivered, so a context must
// not be reused. They are carved from slabs to save an allocation each.
type contexts struct{ slab []captureContext }

func (c *contexts) next(ci gopacket.CaptureInfo) *captureContext {
	if len(c.slab) == 0 {
		c.slab = make([]captureContext, 256)
	}
	ac := &c.slab[0]
	c.slab = c.slab[1:]
	*ac = captureContext(ci)
	ac.AncillaryData = nil
	return ac
}

// offsetError marks a read error with where in the file it happened.
type offsetError struct {
	off int64
	err error
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }

// readPacket reads the next packet of src: io.EOF at the end of the file,
// an *offsetError where the file is not a capture any more.
func readPacket(src packetSource, offset func() int64) ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	at := offset()
	data, ci, link, err := src.next()
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, ErrIdle) {
		return data, ci, link, err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("file ends inside a packet record (truncated capture)")
	}
	return nil, ci, link, &offsetError{off: at, err: err}
}

// readPackets reads every packet of src and emits the records found, in
// capture order. It stops at the first error of the source or of emit.
func readPackets(ctx context.Context, src packetSource, offset func() int64, cfg ReadConfig, emit func(*Record) error) (Stats, error) {
	if cfg.Workers > 1 {
		return readSharded(ctx, src, offset, cfg, emit)
	}
	r := &tcpReader{cfg: cfg.withDefaults(), emit: emit}
	r.order.emit = r.record
	asm := reassembly.NewAssembler(reassembly.NewStreamPool(r))
	asm.MaxBufferedPagesTotal = maxPagesTotal
	asm.MaxBufferedPagesPerConnection = maxPagesPerConn
	var (
		d         decoder
		nextFlush time.Time
		acs       contexts
	)
	for r.err == nil {
		if r.stats.Packets%4096 == 0 && ctx.Err() != nil {
			return r.stats, ctx.Err()
		}
		data, ci, link, err := readPacket(src, offset)
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrIdle) {
			// A live capture with nothing to read: the clock moves time on.
			if ci.Timestamp.After(r.now) {
				r.now = ci.Timestamp
			}
			r.order.pump(r.now)
			if r.now.After(nextFlush) {
				r.flush(func() {
					asm.FlushWithOptions(reassembly.FlushOptions{T: r.now.Add(-r.cfg.FlushAfter), TC: r.now.Add(-r.cfg.CloseAfter)})
				})
				r.order.pump(r.now)
				nextFlush = r.now.Add(time.Second)
			}
			continue
		}
		if err != nil {
			return r.stats, err
		}
		r.stats.Packets++
		r.seq++
		if ci.CaptureLength < ci.Length {
			r.stats.Truncated++
		}
		// Decoded as a shard decodes (shard.go), so that a sharded read
		// counts and flushes exactly alike.
		flow, seg, ok := d.ip(link, data)
		if !ok || !tcpHeaderOK(seg) || d.tcp.DecodeFromBytes(withoutOptions(seg), gopacket.NilDecodeFeedback) != nil {
			r.stats.NotTCP++
			continue
		}
		tcp := &d.tcp
		if ci.Timestamp.After(r.now) {
			r.now = ci.Timestamp
		}
		r.assemble(asm, flow, tcp, acs.next(ci))
		if r.now.After(nextFlush) {
			// Flushing follows capture time, not the clock: a gap waits
			// FlushAfter for its segment, an idle connection CloseAfter.
			r.flush(func() {
				asm.FlushWithOptions(reassembly.FlushOptions{T: r.now.Add(-r.cfg.FlushAfter), TC: r.now.Add(-r.cfg.CloseAfter)})
			})
			r.order.pump(r.now)
			nextFlush = r.now.Add(time.Second)
		}
	}
	if r.err == nil {
		r.seq++
		r.flush(func() { asm.FlushAll() })
		r.order.pump(time.Time{})
		r.order.pump(r.now.Add(2 * holdFor)) // nothing is left waiting at the end
	}
	return r.stats, r.err
}
