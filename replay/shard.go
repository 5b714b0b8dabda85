package replay

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// A sharded read spreads TCP reassembly and HTTP parsing, most of reading's
// cost, over several goroutines. One goroutine reads the packets and hands
// each to the shard its connection hashes to (both directions alike); each
// shard reassembles and parses its connections with its own assembler and
// orders its own records; the caller's goroutine merges the shards' records
// back into capture order by key, and is the only one to call emit. The
// records, their order and the stats are those of a read on one goroutine.

// The reader hands batches to the shards every handOffEvery packets, or
// sooner when a batch holds handOffBytes: every shard gets a batch then,
// empty or not, so that no shard holds the merge back by more than that,
// and the batches in flight stay small whatever the segments' size.
const (
	handOffEvery = 512
	handOffBytes = 256 << 10
)

// shardOp is a packet for a shard, or a flush at a capture time. It holds
// no pointers, so that batches of them cost the garbage collector nothing.
type shardOp struct {
	seq      uint64
	flow     gopacket.Flow
	from, to int   // the TCP segment in shardIn.buf
	at       int64 // capture time, Unix nanoseconds
	caplen   int32
	length   int32
	flush    bool // flush at the capture time instead
}

func (op *shardOp) captureInfo() gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, op.at), CaptureLength: int(op.caplen), Length: int(op.length)}
}

// shardIn is a batch of work for one shard.
type shardIn struct {
	ops  []shardOp
	buf  []byte
	upto uint64    // every packet up to this one has been handed out
	now  time.Time // capture time reached
	last bool      // the capture ended: settle everything
}

type shardedRead struct {
	cfg     ReadConfig
	n       int
	in      []chan *shardIn
	free    []chan *shardIn
	out     chan shardOut
	backlog atomic.Int64 // records handed to the merge, not yet emitted
	shards  []*tcpReader
}

// readSharded is readPackets over cfg.Workers shards.
func readSharded(ctx context.Context, src packetSource, offset func() int64, cfg ReadConfig, emit func(*Record) error) (Stats, error) {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &shardedRead{cfg: cfg, n: cfg.Workers, out: make(chan shardOut, 2*cfg.Workers)}
	var wg sync.WaitGroup
	for i := range s.n {
		in, free, r := make(chan *shardIn, 2), make(chan *shardIn, 4), s.newShard(i)
		s.in, s.free, s.shards = append(s.in, in), append(s.free, free), append(s.shards, r)
		wg.Go(func() { s.work(ctx, r, in, free) })
	}
	var feedStats Stats
	var feedErr error
	wg.Go(func() {
		feedStats, feedErr = s.feed(ctx, src, offset)
		for _, c := range s.in {
			close(c)
		}
	})
	st, err := s.merge(ctx, emit)
	cancel() // an emit error: stop reading
	wg.Wait()
	for _, r := range s.shards {
		st.Streams += r.stats.Streams
		st.Orphans += r.stats.Orphans
		st.NotTCP += r.stats.NotTCP
	}
	st.Packets, st.Truncated, st.NotTCP = feedStats.Packets, feedStats.Truncated, st.NotTCP+feedStats.NotTCP
	if err == nil {
		err = feedErr
	}
	return st, err
}

func (s *shardedRead) newShard(i int) *tcpReader {
	r := &tcpReader{cfg: s.cfg, shard: i}
	r.order.emit = r.record
	r.order.backlog = func() int { return int(s.backlog.Load()) }
	return r
}

// shardOf hashes a connection to a shard, the same for both directions.
func shardOf(flow gopacket.Flow, seg []byte, n int) int {
	// Sum the ports (symmetric) and mix: Linux hands out even ports to
	// connect(), so the low bits alone would not spread connections.
	ports := uint64(binary.BigEndian.Uint16(seg)) + uint64(binary.BigEndian.Uint16(seg[2:]))
	h := (flow.FastHash() ^ ports) * 0x9e3779b97f4a7c15
	return int((h >> 32) % uint64(n))
}

// feed reads every packet and hands it to its shard, with the flushes that
// capture time calls for; it returns the packet counts.
func (s *shardedRead) feed(ctx context.Context, src packetSource, offset func() int64) (Stats, error) {
	var (
		st        Stats
		d         decoder
		seq       uint64
		now       time.Time
		nextFlush time.Time
	)
	batch := make([]*shardIn, s.n)
	for i := range batch {
		batch[i] = &shardIn{}
	}
	var handed uint64 // packets read at the last hand-off
	full := false     // a batch holds handOffBytes
	handOff := func(last bool) error {
		handed, full = seq, false
		for i, b := range batch {
			b.upto, b.now, b.last = seq, now, last
			select {
			case s.in[i] <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case batch[i] = <-s.free[i]:
			default:
				batch[i] = &shardIn{}
			}
		}
		return nil
	}
	for {
		if seq%4096 == 0 && ctx.Err() != nil {
			return st, ctx.Err()
		}
		data, ci, link, err := readPacket(src, offset)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The packets before the error are still read: the records
			// ready by then are emitted, as on one goroutine.
			if herr := handOff(false); herr != nil {
				return st, herr
			}
			return st, err
		}
		seq++
		st.Packets++
		if ci.CaptureLength < ci.Length {
			st.Truncated++
		}
		if flow, seg, ok := d.ip(link, data); !ok || !tcpHeaderOK(seg) {
			// Told here, not in the shard: a segment the shard cannot
			// decode must not move capture time (and flushes) either, as
			// on one goroutine.
			st.NotTCP++
		} else {
			if ci.Timestamp.After(now) {
				now = ci.Timestamp
			}
			b := batch[shardOf(flow, seg, s.n)]
			from := len(b.buf)
			b.buf = append(b.buf, seg...)
			full = len(b.buf) >= handOffBytes
			b.ops = append(b.ops, shardOp{seq: seq, flow: flow, from: from, to: len(b.buf),
				at: ci.Timestamp.UnixNano(), caplen: int32(ci.CaptureLength), length: int32(ci.Length)})
			if now.After(nextFlush) {
				for _, b := range batch {
					b.ops = append(b.ops, shardOp{seq: seq, flush: true, at: now.UnixNano()})
				}
				nextFlush = now.Add(time.Second)
			}
		}
		if seq-handed >= handOffEvery || full {
			if err := handOff(false); err != nil {
				return st, err
			}
		}
	}
	return st, handOff(true)
}

// work reassembles and parses one shard's connections until its input
// ends, sending what it finds to the merge after every batch.
func (s *shardedRead) work(ctx context.Context, r *tcpReader, in <-chan *shardIn, free chan<- *shardIn) {
	var recs []keyedRecord
	r.keyed = func(k key, rec *Record) { recs = append(recs, keyedRecord{k, rec}) }
	asm := reassembly.NewAssembler(reassembly.NewStreamPool(r))
	asm.MaxBufferedPagesTotal = max(maxPagesTotal/s.n, maxPagesPerConn)
	asm.MaxBufferedPagesPerConnection = maxPagesPerConn
	var (
		tcp  layers.TCP
		acs  contexts
		last bool
		upto uint64
	)
	for b := range in {
		for i := range b.ops {
			op := &b.ops[i]
			r.seq = op.seq
			if op.flush {
				r.now = time.Unix(0, op.at)
				r.flush(func() {
					asm.FlushWithOptions(reassembly.FlushOptions{T: r.now.Add(-s.cfg.FlushAfter), TC: r.now.Add(-s.cfg.CloseAfter)})
				})
				r.order.pump(r.now)
				continue
			}
			if tcp.DecodeFromBytes(withoutOptions(b.buf[op.from:op.to]), gopacket.NilDecodeFeedback) != nil {
				r.stats.NotTCP++
				continue
			}
			r.assemble(asm, op.flow, &tcp, acs.next(op.captureInfo()))
		}
		upto, last = b.upto, b.last
		if last {
			r.seq, r.now = upto+1, b.now // after every packet
			r.flush(func() { asm.FlushAll() })
			r.order.pump(time.Time{})
			r.order.pump(r.now.Add(2 * holdFor))
		}
		b.ops, b.buf = b.ops[:0], b.buf[:0]
		select {
		case free <- b: // its buffer is reused: at most about handOffBytes
		default:
		}
		if !s.send(ctx, r, recs, upto, last, last) {
			return
		}
		recs = nil
		if last {
			return
		}
	}
	// The reader stopped early (an error, or the merge stopped): nothing
	// more will come from this shard, and what it holds stays unsettled.
	s.send(ctx, r, nil, upto, true, false)
}

// tcpHeaderOK reports whether seg holds a TCP header gopacket decodes once
// withoutOptions dropped its options: at least 20 bytes, a data offset
// within them and the segment.
func tcpHeaderOK(seg []byte) bool {
	if len(seg) < 20 {
		return false
	}
	off := int(seg[12]>>4) * 4
	return off >= 20 && off <= len(seg)
}

// withoutOptions moves the fixed TCP header of seg, a copy of ours, over its
// options and returns the header and payload: nothing here reads options
// (nor does the assembler), and decoding them was a sixth of gopacket's TCP
// decoding, timestamps being on almost every segment.
func withoutOptions(seg []byte) []byte {
	if len(seg) < 20 {
		return seg
	}
	off := int(seg[12]>>4) * 4
	if off <= 20 || off > len(seg) {
		return seg // no options, or a header gopacket rejects as it is
	}
	copy(seg[off-20:off], seg[:20])
	seg = seg[off-20:]
	seg[12] = 5<<4 | seg[12]&0x0f
	return seg
}

// send hands the merge a shard's records with its mark; false when the
// merge is gone.
func (s *shardedRead) send(ctx context.Context, r *tcpReader, recs []keyedRecord, upto uint64, done, final bool) bool {
	mark := key{seq: upto + 1}
	if len(r.order.held) > 0 && r.order.held[0].key.less(mark) {
		mark = r.order.held[0].key
	}
	s.backlog.Add(int64(len(recs)))
	select {
	case s.out <- shardOut{shard: r.shard, recs: recs, mark: mark, done: done, final: final}:
		return true
	case <-ctx.Done():
		return false
	}
}
