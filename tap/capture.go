package tap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/cutover/cutover/replay"
)

// Live capture is AF_PACKET with a TPACKET_V3 ring, through gopacket's
// afpacket package: pure Go (a build without cgo captures too), the
// kernel hands packets over in blocks of a memory-mapped ring rather than
// a system call each, and the socket's statistics count what the kernel
// dropped when the ring was full. pcapgo's EthernetHandle is pure Go as
// well but makes one recvmsg per packet, which a 2-core machine cannot
// afford at tens of thousands of packets a second.
const (
	ringBlockSize = 1 << 20 // holds the largest loopback frame (64 KiB and more with offloads)
	ringBlocks    = 64      // 64 MiB of ring: about a second of a busy interface
	pollTimeout   = 100 * time.Millisecond
)

// Live is a live capture on one interface. It is a replay.PacketSource.
type Live struct {
	ctx     context.Context
	h       *afpacket.TPacket
	dropped atomic.Int64 // by the kernel, as of the last Drops call

	// The ring takes packets from the moment it is bound, before the
	// filter is attached: packets up to filtered are filtered here too.
	vm       *bpf.VM
	filtered time.Time
}

var _ replay.PacketSource = (*Live)(nil)

// OpenLive opens a capture on iface with the filter (a pcap-filter(7)
// expression; "" takes every packet). It reads until ctx ends, and
// reports the end as io.EOF, so that what was read is settled.
func OpenLive(ctx context.Context, iface, filter string) (*Live, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", iface, err)
	}
	var prog []bpf.RawInstruction
	var vm *bpf.VM
	if filter != "" {
		if prog, err = compileFilter(filter); err != nil {
			return nil, err
		}
		insts, ok := bpf.Disassemble(prog)
		if !ok {
			return nil, fmt.Errorf("capture filter %q: not a program the checker reads", filter)
		}
		if vm, err = bpf.NewVM(insts); err != nil {
			return nil, fmt.Errorf("capture filter %q: %w", filter, err)
		}
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		// Loopback shows every packet twice, as sent and as received;
		// libpcap keeps the received copy only, and so does this.
		prog = inboundOnly(prog)
	}
	h, err := afpacket.NewTPacket(afpacket.OptInterface(iface), afpacket.OptBlockSize(ringBlockSize),
		afpacket.OptNumBlocks(ringBlocks), afpacket.OptFrameSize(1<<16), afpacket.OptPollTimeout(pollTimeout),
		afpacket.TPacketVersion3)
	if err != nil {
		return nil, fmt.Errorf("capture on %s (live capture needs root or CAP_NET_RAW): %w", iface, err)
	}
	if len(prog) > 0 {
		if err := h.SetBPF(prog); err != nil {
			h.Close()
			return nil, fmt.Errorf("capture filter: %w", err)
		}
	}
	return &Live{ctx: ctx, h: h, vm: vm, filtered: time.Now().Add(pollTimeout)}, nil
}

// NextPacket returns the next packet, replay.ErrIdle after a poll with
// none, io.EOF once ctx is done.
func (l *Live) NextPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	if l.ctx.Err() != nil {
		return nil, gopacket.CaptureInfo{}, layers.LinkTypeEthernet, io.EOF
	}
	data, ci, err := l.h.ZeroCopyReadPacketData()
	for err == nil && l.vm != nil && !ci.Timestamp.After(l.filtered) {
		if n, verr := l.vm.Run(data); verr == nil && n > 0 {
			break
		}
		data, ci, err = l.h.ZeroCopyReadPacketData() // came in before the filter
	}
	switch {
	case err == nil:
		return data, ci, layers.LinkTypeEthernet, nil
	case errors.Is(err, afpacket.ErrTimeout), errors.Is(err, afpacket.ErrPoll) && l.ctx.Err() == nil:
		return nil, gopacket.CaptureInfo{Timestamp: time.Now()}, layers.LinkTypeEthernet, replay.ErrIdle
	case l.ctx.Err() != nil:
		return nil, ci, layers.LinkTypeEthernet, io.EOF
	}
	return nil, ci, layers.LinkTypeEthernet, err
}

// Drops is how many packets the kernel dropped since the capture opened
// (the ring was full: the tap fell behind).
func (l *Live) Drops() int64 {
	_, v3, err := l.h.SocketStats()
	if err == nil {
		l.dropped.Store(int64(v3.Drops()))
	}
	return l.dropped.Load()
}

// Close releases the ring.
func (l *Live) Close() { l.h.Close() }

// compileFilter compiles a pcap-filter(7) expression to classic BPF with
// tcpdump -ddd: libpcap's compiler is the reference for the language, and
// running it as a program keeps cgo out of the build.
func compileFilter(expr string) ([]bpf.RawInstruction, error) {
	bin, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, fmt.Errorf("a capture filter is compiled by tcpdump -ddd, which is not installed: %w", err)
	}
	out, err := exec.Command(bin, "-ddd", "-y", "EN10MB", expr).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("capture filter %q: %s", expr, strings.TrimSpace(string(out)))
	}
	return parseDDD(string(out))
}

// parseDDD reads tcpdump -ddd's output: a count, then "code jt jf k" lines.
func parseDDD(out string) ([]bpf.RawInstruction, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || n != len(lines)-1 || n == 0 {
		return nil, fmt.Errorf("tcpdump -ddd gave no program: %q", lines[0])
	}
	prog := make([]bpf.RawInstruction, 0, n)
	for _, l := range lines[1:] {
		var code, jt, jf, k uint64
		if _, err := fmt.Sscanf(strings.TrimSpace(l), "%d %d %d %d", &code, &jt, &jf, &k); err != nil {
			return nil, fmt.Errorf("tcpdump -ddd line %q: %w", l, err)
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(code), Jt: uint8(jt), Jf: uint8(jf), K: uint32(k)})
	}
	return prog, nil
}

// inboundOnly puts a test of the packet type before prog: packets sent
// (PACKET_OUTGOING) are dropped. Jumps are relative, so prog is unchanged.
func inboundOnly(prog []bpf.RawInstruction) []bpf.RawInstruction {
	head, _ := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 4, SkipTrue: 1}, // 4: PACKET_OUTGOING
		bpf.RetConstant{Val: 0},
	})
	if len(prog) == 0 {
		tail, _ := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 1 << 18}})
		prog = tail
	}
	return append(head, prog...)
}

// PortFilter is the filter expression for --port.
func PortFilter(ports []int) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = "tcp port " + strconv.Itoa(p)
	}
	return strings.Join(parts, " or ")
}
