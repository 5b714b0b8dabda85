package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// InspectConfig says how Inspect prints.
type InspectConfig struct {
	// JSON prints one JSON object per request (DESIGN.md) and a summary
	// object last; otherwise a table and a summary line.
	JSON bool
	Read ReadConfig
}

// tableBlock is how many rows of the table are aligned together.
const tableBlock = 1024

// Line is one request as `cutover inspect --json` prints it.
type Line struct {
	Time      time.Time `json:"time"`
	Client    string    `json:"client"`
	Server    string    `json:"server"`
	Method    string    `json:"method"`
	URI       string    `json:"uri"`
	Host      string    `json:"host"`
	Proto     string    `json:"proto"`
	BodyBytes int       `json:"body_bytes"`
	Status    *int      `json:"status"`
}

// NewLine describes a record found whole.
func NewLine(rec *Record) Line {
	l := Line{Time: rec.Time, Client: rec.Client, Server: rec.Server, Method: rec.Request.Method,
		URI: rec.Request.URI, Host: rec.Request.Host, Proto: rec.Proto, BodyBytes: len(rec.Request.Body)}
	if rec.Response != nil {
		l.Status = &rec.Response.Status // records are not changed once handed out
	}
	return l
}

// Inspect reads files and prints every request found, in capture order,
// then a summary of all files. Nothing is sent. It returns the stats of
// all files; an unreadable file stops it with that file's error.
//
// Reading and printing run on two goroutines, handing lines over in
// batches: on a capture of small requests, formatting costs a fifth of
// what reading does.
func Inspect(ctx context.Context, w io.Writer, files []string, cfg InspectConfig) (Stats, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	out := newLinePrinter(bw, cfg.JSON)
	batches := make(chan []Line, 4)
	free := make(chan []Line, 6)
	failed := make(chan struct{})
	var werr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for b := range batches {
			for i := range b {
				if werr == nil {
					if werr = out.print(&b[i]); werr != nil {
						close(failed)
					}
				}
			}
			select {
			case free <- b[:0]:
			default:
			}
		}
	})
	batch := make([]Line, 0, inspectBatch)
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case batches <- batch:
		case <-failed:
			return errors.New("printing stopped")
		}
		select {
		case batch = <-free:
		default:
			batch = make([]Line, 0, inspectBatch)
		}
		return nil
	}
	var total Stats
	var err error
	cfg.Read.FramingHeadersOnly = true // nothing else is printed
	if cfg.Read.Workers == 0 {
		cfg.Read.Workers = runtime.GOMAXPROCS(0)
	}
	for _, f := range files {
		var st Stats
		st, err = ReadFile(ctx, f, cfg.Read, func(rec *Record) error {
			if rec.Skip != "" {
				return nil
			}
			if batch = append(batch, NewLine(rec)); len(batch) == inspectBatch {
				return send()
			}
			return nil
		})
		total.Add(st)
		if err != nil {
			break
		}
	}
	// What was found before an error is printed too: a capture cut short
	// (tcpdump killed mid-write) still lists the requests it holds.
	if serr := send(); err == nil {
		err = serr
	}
	close(batches)
	wg.Wait()
	if werr != nil {
		return total, werr // what stopped printing, not that it stopped
	}
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return total, err
	}
	if total.Skipped == nil {
		total.Skipped = map[string]int{}
	}
	if cfg.JSON {
		return total, out.enc.Encode(struct {
			Summary Stats `json:"summary"`
		}{total})
	}
	_, err = fmt.Fprintln(bw, SummaryLine(total))
	return total, err
}

// inspectBatch is how many lines the reader hands the printer at once.
const inspectBatch = 256

// linePrinter prints lines as JSON or as a table.
type linePrinter struct {
	enc  *json.Encoder
	tw   *table
	rows int
	row  []byte
}

func newLinePrinter(w io.Writer, asJSON bool) *linePrinter {
	if asJSON {
		return &linePrinter{enc: json.NewEncoder(w)}
	}
	p := &linePrinter{tw: &table{w: w}}
	p.tw.add([]byte("TIME\tCLIENT\tSERVER\tMETHOD\tURI\tHOST\tBODY\tSTATUS"))
	return p
}

func (p *linePrinter) print(l *Line) error {
	if p.enc != nil {
		return p.enc.Encode(l)
	}
	// Appended by hand into one reused buffer: fmt costs more than the
	// rest of the row on a capture of small requests.
	b := appendClock(p.row[:0], l.Time)
	for _, f := range [...]string{l.Client, l.Server, l.Method, clip(l.URI, 60), l.Host} {
		b = append(append(b, '\t'), f...)
	}
	b = strconv.AppendInt(append(b, '\t'), int64(l.BodyBytes), 10)
	if b = append(b, '\t'); l.Status != nil {
		b = strconv.AppendInt(b, int64(*l.Status), 10)
	} else {
		b = append(b, '-')
	}
	p.row = b
	p.tw.add(b)
	if p.rows++; p.rows%tableBlock == 0 {
		// The table is aligned in blocks: memory stays bounded on
		// captures of any size.
		return p.tw.flush()
	}
	return nil
}

// appendClock appends t as 15:04:05.000000 (its Format, a few times faster).
func appendClock(b []byte, t time.Time) []byte {
	h, m, s := t.Clock()
	us := t.Nanosecond() / 1000
	b = append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10), '.')
	for d := 100000; d > 0; d /= 10 {
		b = append(b, byte('0'+us/d%10))
	}
	return b
}

func (p *linePrinter) flush() error {
	if p.tw != nil {
		return p.tw.flush()
	}
	return nil
}

// SummaryLine says in one line what was read and what was skipped, and
// says so when there was no HTTP at all.
func SummaryLine(s Stats) string {
	var b strings.Builder
	if s.Requests == 0 && len(s.Skipped) == 0 {
		fmt.Fprintf(&b, "no HTTP requests found (%d packets, %d TCP streams)", s.Packets, s.Streams)
		return b.String()
	}
	fmt.Fprintf(&b, "%d requests (%d with a recorded response) in %d TCP streams, %d packets", s.Requests, s.Responses, s.Streams, s.Packets)
	if len(s.Skipped) > 0 {
		b.WriteString("; skipped:")
		for _, k := range slices.Sorted(maps.Keys(s.Skipped)) {
			fmt.Fprintf(&b, " %s=%d", k, s.Skipped[k])
		}
	}
	if s.Truncated > 0 {
		fmt.Fprintf(&b, "; %d packets truncated by the snap length", s.Truncated)
	}
	if s.Orphans > 0 {
		fmt.Fprintf(&b, "; %d responses without their request", s.Orphans)
	}
	return b.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
