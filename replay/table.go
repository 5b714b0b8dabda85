package replay

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// table aligns tab-separated rows in blocks, as text/tabwriter does with a
// padding of two spaces and the last cell left as is, but knowing its
// rows have no escapes it only splits them: on a capture of small requests
// tabwriter's per-byte scanning cost as much as formatting the rows.
type table struct {
	w     io.Writer
	text  []byte // the rows held, each cell ended by '\t' but the last by '\n'
	rows  int
	width []int // of each column but the last, in runes
	out   []byte
}

// add holds a row (cells separated by '\t', no line end) until flush.
func (t *table) add(row []byte) {
	col := 0
	for rest := row; ; col++ {
		i := bytes.IndexByte(rest, '\t')
		if i < 0 {
			break
		}
		if col == len(t.width) {
			t.width = append(t.width, 0)
		}
		t.width[col] = max(t.width[col], utf8.RuneCount(rest[:i]))
		rest = rest[i+1:]
	}
	t.text = append(append(t.text, row...), '\n')
	t.rows++
}

// flush writes the rows held, aligned, and forgets them.
func (t *table) flush() error {
	out := t.out[:0]
	for text := t.text; len(text) > 0; {
		eol := bytes.IndexByte(text, '\n')
		row := text[:eol]
		text = text[eol+1:]
		for col := 0; ; col++ {
			i := bytes.IndexByte(row, '\t')
			if i < 0 {
				out = append(append(out, row...), '\n')
				break
			}
			out = append(out, row[:i]...)
			for pad := t.width[col] + 2 - utf8.RuneCount(row[:i]); pad > 0; pad-- {
				out = append(out, ' ')
			}
			row = row[i+1:]
		}
	}
	t.out, t.text, t.rows = out, t.text[:0], 0
	clear(t.width)
	_, err := t.w.Write(out)
	return err
}
