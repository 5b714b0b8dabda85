package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// ReadFile reads the capture (pcap, pcapng, gzip-compressed or not) or HAR
// file at path and calls emit with every record, in capture order. Reading
// stops at the first error emit returns, which is returned as is.
//
// A file that cannot be read gives an error naming it and, when it is
// malformed, the offset (in the uncompressed bytes) where reading failed.
func ReadFile(ctx context.Context, path string, cfg ReadConfig, emit func(*Record) error) (Stats, error) {
	return readFile(ctx, path, cfg, emit, nil)
}

// readFile is ReadFile adding the file bytes it reads to read, when not nil.
func readFile(ctx context.Context, path string, cfg ReadConfig, emit func(*Record) error, read *atomic.Int64) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, err // *PathError names the file already
	}
	defer f.Close()
	var r io.Reader = f
	if read != nil {
		r = &readCounter{r: f, n: read}
	}
	return Read(ctx, r, path, cfg, emit)
}

type readCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Read is ReadFile on an open reader; name is used in errors.
func Read(ctx context.Context, r io.Reader, name string, cfg ReadConfig, emit func(*Record) error) (Stats, error) {
	in, err := openInput(r)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: offset 0: %w", name, err)
	}
	cfg.TLSKeys = in.withSecrets(cfg.TLSKeys)
	var emitErr error
	guarded := func(rec *Record) error {
		if emitErr = emit(rec); emitErr != nil {
			return emitErr
		}
		return nil
	}
	var st Stats
	if in.fmt == formatHAR {
		st, err = readHAR(ctx, in.br, cfg.withDefaults(), guarded)
	} else {
		var src packetSource
		if src, err = in.packets(); err != nil {
			return Stats{}, fmt.Errorf("%s: offset %d: %w", name, in.offset(), err)
		}
		st, err = readPackets(ctx, src, in.offset, cfg, guarded)
	}
	if err == nil || (emitErr != nil && errors.Is(err, emitErr)) || errors.Is(err, ctx.Err()) {
		return st, err
	}
	var oe *offsetError
	if errors.As(err, &oe) {
		where := fmt.Sprintf("offset %d", oe.off)
		if in.gz {
			where += " (uncompressed)"
		}
		return st, fmt.Errorf("%s: %s: %w", name, where, oe.err)
	}
	return st, fmt.Errorf("%s: %w", name, err)
}
