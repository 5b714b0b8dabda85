package tap

import (
	"context"
	"io"

	"github.com/cutover/cutover/replay"
)

// Stream is a pcap or pcapng stream (a file, or tcpdump -w - on stdin).
// Drops are not known: tcpdump reports its own on its stderr.
type Stream struct {
	R    io.Reader
	Name string
}

var _ Source = Stream{}

func (s Stream) Read(ctx context.Context, cfg replay.ReadConfig, emit func(*replay.Record) error) (replay.Stats, error) {
	return replay.Read(ctx, s.R, s.Name, cfg, emit)
}

func (Stream) Drops() int64 { return 0 }

var _ Source = (*Live)(nil)

// Read reads the live capture until ctx ends.
func (l *Live) Read(ctx context.Context, cfg replay.ReadConfig, emit func(*replay.Record) error) (replay.Stats, error) {
	st, err := replay.ReadSource(ctx, l, cfg, emit)
	if err == io.EOF {
		err = nil
	}
	return st, err
}
