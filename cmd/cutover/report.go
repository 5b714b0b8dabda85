package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/reports"
)

type reportFlags struct {
	in             []string
	format, out    string
	state, rollout string
}

// reportFormats are the renderers of cutover report, by --format; the HTML
// shows the rollout timeline and state when there is one.
func reportFormats(timeline *reports.Timeline, state *reports.RolloutState) map[string]func(io.Writer, *diff.Summary) error {
	return map[string]func(io.Writer, *diff.Summary) error{
		"html": func(w io.Writer, s *diff.Summary) error {
			return reports.HTML(w, s, reports.HTMLOptions{Generated: time.Now(), Timeline: timeline, Rollout: state})
		},
		"md":    reports.Markdown,
		"junit": reports.JUnit,
		"json":  reports.JSON,
	}
}

func newReportCmd(a *app) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report --in SUMMARY.json [--in MORE.json ...] --format html|md|junit|json -o FILE",
		Short: "Render a summary JSON as an HTML report, Markdown, JUnit XML or JSON",
		Long: `report renders the summary JSON that replay and mirror write (--json).
Several --in (mirrors in several places, replays of several captures) are
merged into one summary first: counts summed, latency percentiles from the
merged histograms, the verdict judged again under the first one's limits.
Formats:
  html   one self-contained page to read: verdict, accounting, endpoints by
         severity with examples, latency charts; it loads nothing and runs no script
  md     a compact summary for a pull request or a chat message
  junit  one test suite, one test case per endpoint, for CI
  json   the summary JSON unchanged
Exit code: 0 written and the verdict passed, 1 written and the verdict failed,
2 could not run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var timeline *reports.Timeline
			var state *reports.RolloutState
			if f.state != "" {
				var err error
				if timeline, err = rolloutTimeline(cmd.Context(), &rolloutFlags{state: f.state, rollout: f.rollout}); err != nil {
					return err
				}
				state = rolloutStateOf(timeline)
			}
			render, ok := reportFormats(timeline, state)[f.format]
			if !ok {
				return fmt.Errorf("invalid --format %q: want html, md, junit or json", f.format)
			}
			if len(f.in) == 0 || f.out == "" {
				return errors.New("report needs --in SUMMARY.json and -o FILE")
			}
			if err := checkWritable(f.out); err != nil {
				return fmt.Errorf("-o %s: %w", f.out, err)
			}
			s, err := readSummaries(f.in)
			if err != nil {
				return err
			}
			if err := writeReportFile(f.out, func(w io.Writer) error { return render(w, s) }); err != nil {
				return err
			}
			return verdictOf(*s)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.in, "in", nil, "a summary JSON to render; repeat to merge several")
	fl.StringVar(&f.format, "format", "html", "html, md, junit or json")
	fl.StringVarP(&f.out, "out", "o", "", "the file to write")
	fl.StringVar(&f.state, "state", "", "rollout state file: the HTML shows the rollout's timeline")
	fl.StringVar(&f.rollout, "rollout", "", "rollout name in --state (default: the only one)")
	return cmd
}

// writeReportFile writes a report atomically: a reader never sees half a
// file, and a failed render leaves what was there before.
func writeReportFile(path string, render func(io.Writer) error) error {
	tmp, err := createShared(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := render(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// createShared creates a new temporary file in dir with mode 0666 less the
// umask, as any file a user writes: a report is for sharing, and a user
// whose umask keeps files private gets a private one (CreateTemp's 0600
// and a chmod would each override that).
func createShared(dir string) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, fmt.Sprintf(".cutover-report-%d", rand.Uint64()))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, errors.New("no free temporary name")
}

// writeHTMLReport writes the HTML report of a run that just ended.
func writeHTMLReport(path string, s *diff.Summary) error {
	return writeReportFile(path, func(w io.Writer) error {
		return reports.HTML(w, s, reports.HTMLOptions{Generated: time.Now()})
	})
}

// readSummaries reads and, when there are several, merges summaries.
func readSummaries(paths []string) (*diff.Summary, error) {
	var all []*diff.Summary
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read summary: %w", err)
		}
		s, err := diff.ParseSummary(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		// A report of counts that break the contract would be believed.
		if err := s.Counts.Check(); err != nil {
			return nil, fmt.Errorf("%s: refusing to render: %w", p, err)
		}
		all = append(all, s)
	}
	s, err := diff.MergeSummaries(all)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(paths, ", "), err)
	}
	return s, nil
}
