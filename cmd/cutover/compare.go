package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cutover/cutover/diff"
)

// newAggregator builds the diff engine from an optional rules file, as
// replay and mirror both need it.
func newAggregator(rulesPath string) (*diff.Aggregator, error) {
	var rules *diff.Rules
	if rulesPath != "" {
		data, err := os.ReadFile(rulesPath)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		if rules, err = diff.ParseRules(data); err != nil {
			return nil, fmt.Errorf("rules %s: %w", rulesPath, err)
		}
	}
	return diff.NewAggregator(diff.AggregatorConfig{Rules: rules}), nil
}

// writeSummaryFile writes the summary JSON atomically (see writeReportFile):
// a reader (or a CI step) never sees half a file, also when SIGHUP rewrites it.
func writeSummaryFile(path string, s diff.Summary) error {
	return writeReportFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	})
}

// verdictOf maps a summary to the exit code contract: a failed verdict is
// exit 1.
func verdictOf(s diff.Summary) error {
	if s.Verdict == diff.VerdictFail {
		return &verdictError{}
	}
	return nil
}
