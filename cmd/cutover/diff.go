package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cutover/cutover/diff"
	"github.com/spf13/cobra"
)

type diffFlags struct {
	rules string
	json  bool
}

func newDiffCmd(a *app) *cobra.Command {
	var f diffFlags
	cmd := &cobra.Command{
		Use:   "diff LEGACY CANDIDATE",
		Short: "Compare two saved answers as the harness would",
		Long: `diff compares two answers saved by 'curl -i' (or 'curl -sD-'), or two bare
bodies, the way mirror and replay compare legacy and candidate: bodies are
decoded, JSON is compared by structure, and the rules file says what to ignore.

It prints one line per difference (path, kind, legacy → candidate) and exits
0 when the answers are the same, 1 when they differ, 2 when it cannot run.`,
		Example: `  curl -si https://legacy.example/api/items/7 > legacy.http
  curl -si https://candidate.example/api/items/7 > candidate.http
  cutover diff legacy.http candidate.http --rules rules.yaml`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(a, args[0], args[1], f)
		},
	}
	cmd.Flags().StringVar(&f.rules, "rules", "", "rules `FILE` (YAML): what to ignore, tolerances, unordered arrays, headers")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the differences as JSON")
	return cmd
}

func runDiff(a *app, legacyPath, candidatePath string, f diffFlags) error {
	rules, err := loadDiffRules(f.rules)
	if err != nil {
		return err
	}
	legacy, err := loadAnswer("legacy", legacyPath)
	if err != nil {
		return err
	}
	candidate, err := loadAnswer("candidate", candidatePath)
	if err != nil {
		return err
	}
	diffs := diff.NewComparer(rules).Compare(legacy, candidate)
	a.log.Debug().Str("legacy", legacyPath).Str("candidate", candidatePath).Int("differences", len(diffs)).Msg("compared")
	if f.json {
		err = writeDiffJSON(a.stdout, legacyPath, candidatePath, diffs)
	} else {
		err = writeDiffText(a.stdout, diffs)
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if len(diffs) > 0 {
		return &verdictError{}
	}
	return nil
}

// loadDiffRules reads the rules file; no file means the defaults.
func loadDiffRules(path string) (*diff.Rules, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	rules, err := diff.ParseRules(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rules, nil
}

func loadAnswer(side, path string) (*diff.Response, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", side, err)
	}
	resp, err := diff.ParseResponseFile(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s %s: %w", side, path, err)
	}
	return resp, nil
}

// writeDiffText prints one aligned line per difference, then a count.
func writeDiffText(w io.Writer, diffs []diff.Difference) error {
	if len(diffs) == 0 {
		_, err := fmt.Fprintln(w, "no differences")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, d := range diffs {
		line := fmt.Sprintf("%s\t%s\t%s → %s", d.Path, d.Kind, shown(d.Legacy, d.Kind == diff.KindExtra), shown(d.Candidate, d.Kind == diff.KindMissing))
		if d.Detail != "" {
			line += "  (" + d.Detail + ")"
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	noun := "differences"
	if len(diffs) == 1 {
		noun = "difference"
	}
	_, err := fmt.Fprintf(w, "%d %s\n", len(diffs), noun)
	return err
}

// shown renders one side for a person: an absent side says so, and an
// empty value is visibly empty.
func shown(v string, absent bool) string {
	switch {
	case absent:
		return "(absent)"
	case v == "":
		return `""`
	}
	// A tab would split the aligned columns.
	return strings.ReplaceAll(v, "\t", " ")
}

// diffReport is the --json output.
type diffReport struct {
	Legacy      string            `json:"legacy"`
	Candidate   string            `json:"candidate"`
	Same        bool              `json:"same"`
	Differences []diff.Difference `json:"differences"`
}

func writeDiffJSON(w io.Writer, legacy, candidate string, diffs []diff.Difference) error {
	if diffs == nil {
		diffs = []diff.Difference{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(diffReport{Legacy: legacy, Candidate: candidate, Same: len(diffs) == 0, Differences: diffs})
}
