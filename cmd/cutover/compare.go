package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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

// writeSummaryFile writes the summary JSON atomically: a reader (or a CI
// step) never sees half a file, also when SIGHUP rewrites it.
func writeSummaryFile(path string, s diff.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cutover-summary-*")
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write summary: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// verdictOf maps a summary to the exit code contract: a failed verdict is
// exit 1.
func verdictOf(s diff.Summary) error {
	if s.Verdict == diff.VerdictFail {
		return &verdictError{}
	}
	return nil
}
