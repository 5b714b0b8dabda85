package replay

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-cmp/cmp"
)

// table aligns exactly as text/tabwriter (padding 2, last cell as is),
// multi-byte characters counted as one, block by block.
func TestTableAlignsAsTabwriter(t *testing.T) {
	t.Parallel()
	blocks := [][]string{
		{"TIME\tCLIENT\tURI\tSTATUS", "10:00\t127.0.0.1:1\t/a\t200", "10:01\t[::1]:5\t/ünïcode/päth\t-"},
		{"x\t\t\t", "a much longer cell\tb\tc\td"},
		{"one cell"},
	}
	var want, got bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 8, 2, ' ', 0)
	tb := &table{w: &got}
	for _, rows := range blocks {
		for _, r := range rows {
			tw.Write([]byte(r + "\n"))
			tb.add([]byte(r))
		}
		if err := tw.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := tb.flush(); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(strings.Split(want.String(), "\n"), strings.Split(got.String(), "\n")); diff != "" {
		t.Errorf("(-tabwriter +table):\n%s", diff)
	}
}

func TestAppendClock(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 22, 9, 5, 7, 1000, time.UTC),
		time.Date(2026, 11, 22, 23, 59, 59, 999999999, time.Local),
		time.Unix(1795348935, 203456789),
	} {
		if got, want := string(appendClock(nil, tm)), tm.Format("15:04:05.000000"); got != want {
			t.Errorf("appendClock(%v) = %q, want %q", tm, got, want)
		}
	}
}
