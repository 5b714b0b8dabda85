package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// app carries what every subcommand shares: the output streams and the logger
// built once from the persistent flags before any subcommand runs.
type app struct {
	stdout io.Writer
	stderr io.Writer
	log    zerolog.Logger

	logLevel    string
	logFormat   string
	cpuProfile  string
	stopProfile func()
}

// newRootCmd builds the command tree; the caller calls the app's finish once
// the command has returned, whatever its outcome.
func newRootCmd(stdout, stderr io.Writer) (*cobra.Command, *app) {
	a := &app{stdout: stdout, stderr: stderr, log: zerolog.Nop(), stopProfile: func() {}}
	root := &cobra.Command{
		Use:   "cutover",
		Short: "Move live traffic from a legacy HTTP proxy to a candidate without breaking anyone",
		Long: `cutover proves that a new HTTP proxy (the candidate) answers like the one it
replaces (the legacy), as fast or faster, on real traffic, and then moves traffic
over step by step with an automatic way back.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(a.stderr, a.logLevel, a.logFormat)
			if err != nil {
				return err
			}
			a.log = log
			stop, err := startCPUProfile(a.cpuProfile)
			a.stopProfile = stop
			return err
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return fmt.Errorf("%w (see 'cutover --help')", err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&a.logFormat, "log-format", "", "log format: console or json (default console on a terminal, json otherwise)")

	pf.StringVar(&a.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the command to this file")
	_ = pf.MarkHidden("cpuprofile") // for performance work, not for users
	root.AddCommand(
		newVersionCmd(a),
		newTestbedCmd(a),
		newMirrorCmd(a),
		newDemoCmd(a),
		newRolloutCmd(a),
		newDiffCmd(a),
		newInspectCmd(a),
		newReplayCmd(a),
		newTapCmd(a),
		newReportCmd(a),
		newNGINXSplitCmd(a),
	)
	return root, a
}

// finish ends what the persistent flags started (the CPU profile).
func (a *app) finish() { a.stopProfile() }

// newLogger builds the one logger passed down to every package.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" || lvl < zerolog.DebugLevel || lvl > zerolog.ErrorLevel {
		return zerolog.Nop(), fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", level)
	}
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "console"
		}
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)}
	default:
		return zerolog.Nop(), fmt.Errorf("invalid --log-format %q: want console or json", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
