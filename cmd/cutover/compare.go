package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/reports"
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

// writeResults writes what a run that ended gives: the summary JSON and
// the HTML report where their flags ask for them, then the text summary.
func (a *app) writeResults(jsonPath, reportPath string, s *diff.Summary) error {
	if jsonPath != "" {
		if err := writeSummaryFile(jsonPath, *s); err != nil {
			return err
		}
	}
	if reportPath != "" {
		if err := writeHTMLReport(reportPath, s); err != nil {
			return err
		}
	}
	return reports.Text(a.stdout, s)
}

// verdictOf maps a summary to the exit code contract: a failed verdict is
// exit 1.
func verdictOf(s diff.Summary) error {
	if s.Verdict == diff.VerdictFail {
		return &verdictError{}
	}
	return nil
}
