package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Flags are checked before a command does anything: a bad value is one
// line naming the flag and exit 2, never a run with a silent default, and
// an output path that cannot be written is found before the run, not when
// its summary is lost at the end.

// check collects the first problem of a command's flags.
type check struct{ err error }

func (c *check) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// positive: the flag must be above 0.
func (c *check) positive(flag string, v int64) {
	if v <= 0 {
		c.fail("invalid --%s %d: must be above 0", flag, v)
	}
}

// notNegative: the flag must be 0 or more.
func (c *check) notNegative(flag string, v int64) {
	if v < 0 {
		c.fail("invalid --%s %d: must not be negative", flag, v)
	}
}

// duration: the flag must be a positive duration.
func (c *check) duration(flag string, d time.Duration) {
	if d <= 0 {
		c.fail("invalid --%s %s: must be above 0", flag, d)
	}
}

// number: the flag must be a finite number in [lo, hi].
func (c *check) number(flag string, v, lo, hi float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		c.fail("invalid --%s %g: want a number from %g to %g", flag, v, lo, hi)
	}
}

// writable: the flag's file can be created (an empty path is not asked for).
func (c *check) writable(flag, path string) {
	if path == "" || c.err != nil {
		return
	}
	if err := checkWritable(path); err != nil {
		c.fail("--%s %s: %w", flag, path, err)
	}
}

// checkWritable tells whether path can be written as writeReportFile
// writes it: a new file in its directory, renamed over it.
func checkWritable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("is a directory")
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".cutover-check-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot write in %s: %w", filepath.Dir(path), pe.Err)
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// withSubcommands makes a command that only groups subcommands refuse an
// unknown one (exit 2) instead of printing its help and exiting 0.
func withSubcommands(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		var names []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		msg := fmt.Sprintf("unknown command %q for %q (want %s)", args[0], cmd.CommandPath(), strings.Join(names, ", "))
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		return errors.New(msg)
	}
	return cmd
}
