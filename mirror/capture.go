package mirror

import (
	"bytes"
	"io"
	"time"
)

// teeBody copies what the primary reads of the request body, up to a cap,
// so that the shadow gets the same body without the client path buffering
// it first.
type teeBody struct {
	r      io.ReadCloser
	buf    bytes.Buffer
	cap    int64
	over   bool // more than cap bytes: the copy is incomplete
	eof    bool // the whole body was read
	closed bool
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 && !t.over {
		if int64(t.buf.Len()+n) > t.cap {
			t.over = true
			t.buf.Reset()
		} else {
			t.buf.Write(p[:n])
		}
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

func (t *teeBody) Close() error {
	t.closed = true
	return t.r.Close()
}

// complete reports whether the copy holds the whole body.
func (t *teeBody) complete() bool { return t.eof && !t.over }

// answerCapture records the primary's answer while it streams to the
// client: the body up to a cap, and when its first and last bytes came.
type answerCapture struct {
	r         io.ReadCloser
	buf       bytes.Buffer
	cap       int64
	truncated bool
	eof       bool
	end       time.Time
}

func (c *answerCapture) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		room := c.cap - int64(c.buf.Len())
		switch {
		case room >= int64(n):
			c.buf.Write(p[:n])
		default:
			c.buf.Write(p[:max(room, 0)])
			c.truncated = true
		}
	}
	if err == io.EOF && !c.eof {
		c.eof = true
		c.end = time.Now()
	}
	return n, err
}

func (c *answerCapture) Close() error {
	if c.end.IsZero() {
		c.end = time.Now()
	}
	return c.r.Close()
}
