package reports

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/cutover/cutover/diff"
)

// JSON writes the summary JSON of DESIGN.md unchanged: the same encoding
// (two-space indent, a final newline) as the --json files of replay and
// mirror, so a summary read with diff.ParseSummary comes back byte for byte.
func JSON(w io.Writer, s *diff.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	return nil
}
