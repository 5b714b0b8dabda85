package replay

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"

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
