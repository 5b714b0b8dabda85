package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
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
		s := rec.Response.Status
		l.Status = &s
	}
	return l
}

// Inspect reads files and prints every request found, in capture order,
// then a summary of all files. Nothing is sent. It returns the stats of
// all files; an unreadable file stops it with that file's error.
func Inspect(ctx context.Context, w io.Writer, files []string, cfg InspectConfig) (Stats, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	var total Stats
	var tw *tabwriter.Writer
	rows := 0
	enc := json.NewEncoder(bw)
	if !cfg.JSON {
		tw = tabwriter.NewWriter(bw, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tCLIENT\tSERVER\tMETHOD\tURI\tHOST\tBODY\tSTATUS")
	}
	cfg.Read.FramingHeadersOnly = true // nothing else is printed
	for _, f := range files {
		st, err := ReadFile(ctx, f, cfg.Read, func(rec *Record) error {
			if rec.Skip != "" {
				return nil
			}
			l := NewLine(rec)
			if cfg.JSON {
				return enc.Encode(l)
			}
			status := "-"
			if l.Status != nil {
				status = fmt.Sprint(*l.Status)
			}
			_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", l.Time.Format("15:04:05.000000"),
				l.Client, l.Server, l.Method, clip(l.URI, 60), l.Host, l.BodyBytes, status)
			if rows++; err == nil && rows%tableBlock == 0 {
				// tabwriter keeps every row until flushed: aligning the
				// table in blocks keeps memory bounded on captures of any size.
				err = tw.Flush()
			}
			return err
		})
		total.Add(st)
		if err != nil {
			if tw != nil {
				tw.Flush()
			}
			return total, err
		}
	}
	if total.Skipped == nil {
		total.Skipped = map[string]int{}
	}
	if cfg.JSON {
		return total, enc.Encode(struct {
			Summary Stats `json:"summary"`
		}{total})
	}
	tw.Flush()
	_, err := fmt.Fprintln(bw, SummaryLine(total))
	return total, err
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
