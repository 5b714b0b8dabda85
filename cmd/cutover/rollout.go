package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/rollout"
)

// rolloutFlags are shared by the rollout subcommands.
type rolloutFlags struct {
	state   string
	rollout string
}

func newRolloutCmd(a *app) *cobra.Command {
	var f rolloutFlags
	cmd := withSubcommands(&cobra.Command{
		Use:   "rollout",
		Short: "Move live traffic to the candidate step by step, with gates and automatic rollback",
		Long: `rollout moves the share of traffic the candidate serves through the steps of a
plan, judges every step on the mirrors' measurements (error rate, latency,
differences) and rolls back on its own when a step goes bad. State and history
live in a SQLite file (--state) that operators share from any terminal.`,
	})
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.state, "state", "cutover.db", "state file (SQLite)")
	pf.StringVar(&f.rollout, "rollout", "", "rollout name (default: the only one in the state file)")
	cmd.AddCommand(
		newRolloutPlanCmd(a),
		newRolloutRunCmd(a, &f),
		newRolloutStatusCmd(a, &f),
		newRolloutHistoryCmd(a, &f),
		newRolloutOperatorCmd(a, &f, "pause", "Pause the rollout at its weight", cobra.NoArgs),
		newRolloutOperatorCmd(a, &f, "resume", "Resume a paused rollout (or pass a manual gate)", cobra.NoArgs),
		newRolloutOperatorCmd(a, &f, "promote", "Go to the next step now (--full: to 100)", cobra.NoArgs),
		newRolloutOperatorCmd(a, &f, "abort", "Set the weight to 0 now and end the rollout", cobra.NoArgs),
		newRolloutOperatorCmd(a, &f, "set-weight", "Set the weight by hand (pauses the rollout)", cobra.ExactArgs(1)),
	)
	return cmd
}

func readPlan(path string) (*rollout.Plan, string, error) {
	if path == "" {
		return nil, "", errors.New("--plan is required")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("plan: %w", err)
	}
	p, err := rollout.ParsePlan(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return p, string(data), nil
}

func newRolloutPlanCmd(a *app) *cobra.Command {
	var planPath string
	cmd := &cobra.Command{
		Use:   "plan --plan FILE",
		Short: "Check a plan and print its whole schedule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, _, err := readPlan(planPath)
			if err != nil {
				return err
			}
			return p.Schedule(a.stdout)
		},
	}
	cmd.Flags().StringVar(&planPath, "plan", "", "plan file (YAML)")
	return cmd
}

type rolloutRunFlags struct {
	plan, mirrors, backend, tokenFile string
	source, backendTokenFile          string
	prometheus, sourceSelector        string
	failSafeAfter, metricsListen      string
	restart, acceptPlanChange         bool

	lease  time.Duration // from failSafeAfter and the plan's interval
	quorum int           // the plan's
}

// failSafeIntervals is the default lease: a few intervals.
const failSafeIntervals = 3

// parseLease parses --fail-safe-after: "auto" (three intervals), "off" or
// 0 (none), or a duration of at least two intervals.
func (f rolloutRunFlags) parseLease(interval time.Duration) (time.Duration, error) {
	switch f.failSafeAfter {
	case "", "auto":
		return failSafeIntervals * interval, nil
	case "off", "0":
		return 0, nil
	}
	d, err := time.ParseDuration(f.failSafeAfter)
	if err != nil || d < 2*interval {
		return 0, fmt.Errorf("--fail-safe-after %q: want auto, off or a duration of at least two intervals (%s)", f.failSafeAfter, 2*interval)
	}
	return d, nil
}

func newRolloutRunCmd(a *app, rf *rolloutFlags) *cobra.Command {
	var f rolloutRunFlags
	cmd := &cobra.Command{
		Use:   "run --plan FILE --mirror ADMIN_URL[,ADMIN_URL...]",
		Short: "Run the controller until the rollout is promoted, rolled back or aborted",
		Long: `run drives the rollout: it reconciles the weight every interval, judges the gates
and moves on, holds or rolls back. Killed and restarted, it resumes the same
step with the hold already served. Exit code: 0 promoted, 1 rolled back or
aborted, 2 could not run, 3 interrupted (SIGTERM, Ctrl-C: the state says
interrupted, run again to resume), 4 left paused at a step's deadline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRollout(cmd.Context(), a, rf, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.plan, "plan", "", "plan file (YAML)")
	fl.StringVar(&f.mirrors, "mirror", "", "admin URLs of the mirrors, comma-separated")
	fl.StringVar(&f.tokenFile, "admin-token-file", "", "file holding the mirrors' admin bearer token")
	addDoorFlags(fl, &f)
	fl.StringVar(&f.failSafeAfter, "fail-safe-after", "auto", "mirrors fall back to weight 0 when the controller is gone this long (auto: three intervals; off: they keep their weight)")
	fl.BoolVar(&f.restart, "restart", false, "start the rollout anew, dropping its earlier state and history")
	fl.BoolVar(&f.acceptPlanChange, "accept-plan-change", false, "take a plan that changed in steps not yet begun (journaled; history kept)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "serve the controller's Prometheus metrics on this address (/metrics)")
	return cmd
}

func runRollout(ctx context.Context, a *app, rf *rolloutFlags, f rolloutRunFlags) error {
	p, planYAML, err := readPlan(f.plan)
	if err != nil {
		return err
	}
	var admins []string
	for _, m := range strings.Split(f.mirrors, ",") {
		if m = strings.TrimSpace(m); m != "" {
			admins = append(admins, m)
		}
	}
	token, err := readToken("--admin-token-file", f.tokenFile)
	if err != nil {
		return err
	}
	if f.lease, err = f.parseLease(p.Interval); err != nil {
		return err
	}
	f.quorum = p.Quorum
	doors, err := openDoors(ctx, f, p, admins, token)
	if err != nil {
		return err
	}
	lock, err := rollout.AcquireLock(rf.state)
	if err != nil {
		return err
	}
	defer lock.Release()
	j, err := rollout.OpenJournal(ctx, rf.state)
	if err != nil {
		return err
	}
	defer j.Close()
	if f.restart {
		if err := j.Delete(ctx, p.Name); err != nil {
			return err
		}
	}
	c := &rollout.Controller{Plan: p, PlanYAML: planYAML, Journal: j, Source: doors.source, Backend: doors.backend, Log: a.log, Actor: actor(),
		AcceptPlanChange: f.acceptPlanChange, Prometheus: doors.prometheus}
	if f.metricsListen != "" {
		stop, err := serveMetrics(ctx, f.metricsListen, c)
		if err != nil {
			return err
		}
		defer stop()
	}
	st, err := c.Run(ctx)
	switch {
	case errors.Is(err, rollout.ErrInterrupted):
		fmt.Fprintf(a.stdout, "rollout %q: interrupted at step %d (%g%%); run again to resume\n", st.Rollout, st.Step+1, st.Weight)
		return &codedError{code: exitInterrupted, msg: fmt.Sprintf("rollout %q interrupted before it ended (exit %d)", st.Rollout, exitInterrupted)}
	case errors.Is(err, rollout.ErrLeftPaused):
		fmt.Fprintf(a.stdout, "rollout %q: paused at step %d (%g%%) at its deadline; resume, promote or abort it\n", st.Rollout, st.Step+1, st.Weight)
		return &codedError{code: exitPaused, msg: fmt.Sprintf("rollout %q left paused at step %d's deadline (exit %d)", st.Rollout, st.Step+1, exitPaused)}
	case err != nil:
		return err
	}
	fmt.Fprintf(a.stdout, "rollout %q: %s at %g%%\n", st.Rollout, st.Status, st.Weight)
	switch st.Status {
	case rollout.StatusRolledBack, rollout.StatusAborted:
		return &verdictError{msg: fmt.Sprintf("rollout %q %s", st.Rollout, strings.ReplaceAll(st.Status, "_", " "))}
	}
	return nil
}

// openRollout opens the state file and names the rollout to act on; a
// read-only command opens it read-only, so that it never writes in it.
func openRollout(ctx context.Context, rf *rolloutFlags, readOnly bool) (*rollout.Journal, string, error) {
	if _, err := os.Stat(rf.state); err != nil {
		return nil, "", fmt.Errorf("state file %s: %w", rf.state, errors.Unwrap(err))
	}
	open := rollout.OpenJournal
	if readOnly {
		open = rollout.OpenJournalReadOnly
	}
	j, err := open(ctx, rf.state)
	if err != nil {
		return nil, "", err
	}
	name := rf.rollout
	if name == "" {
		names, err := j.Names(ctx)
		switch {
		case err != nil:
			j.Close()
			return nil, "", err
		case len(names) == 0:
			j.Close()
			return nil, "", fmt.Errorf("no rollout in %s", rf.state)
		case len(names) > 1:
			j.Close()
			return nil, "", fmt.Errorf("%d rollouts in %s (%s): name one with --rollout", len(names), rf.state, strings.Join(names, ", "))
		}
		name = names[0]
	}
	if _, err := j.Load(ctx, name); err != nil {
		j.Close()
		return nil, "", err
	}
	return j, name, nil
}

// newRolloutViewCmd builds a read-only subcommand that shows the rollout
// named by the flags, as text or with --json.
func newRolloutViewCmd(rf *rolloutFlags, use, short string, show func(ctx context.Context, j *rollout.Journal, name string, asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			j, name, err := openRollout(cmd.Context(), rf, true)
			if err != nil {
				return err
			}
			defer j.Close()
			return show(cmd.Context(), j, name, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRolloutStatusCmd(a *app, rf *rolloutFlags) *cobra.Command {
	return newRolloutViewCmd(rf, "status", "Show the step, the weight, each gate's figures and verdict, and the hold left",
		func(ctx context.Context, j *rollout.Journal, name string, asJSON bool) error {
			st, err := j.Load(ctx, name)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONOut(a, st)
			}
			pending, err := j.Pending(ctx, name)
			if err != nil {
				return err
			}
			p, err := rollout.PlanOf(st)
			if err != nil {
				return err
			}
			return st.Describe(a.stdout, p, pending, time.Now())
		})
}

func newRolloutHistoryCmd(a *app, rf *rolloutFlags) *cobra.Command {
	return newRolloutViewCmd(rf, "history", "Show every transition of the rollout, with time, weight, gate figures and reason",
		func(ctx context.Context, j *rollout.Journal, name string, asJSON bool) error {
			events, err := j.History(ctx, name)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONOut(a, events)
			}
			for _, e := range events {
				fmt.Fprintf(a.stdout, "%s  %-18s step %d  %5g%%  %s  (%s)\n", e.Time.Format(time.RFC3339), e.Kind, e.Step+1, e.Weight, e.Reason, e.Actor)
				for _, g := range e.Gates {
					fmt.Fprintf(a.stdout, "      gate %-12s %-12s %s\n", g.Gate, g.Verdict, g.Reason)
				}
			}
			return nil
		})
}

func newRolloutOperatorCmd(a *app, rf *rolloutFlags, kind, short string, args cobra.PositionalArgs) *cobra.Command {
	var reason string
	var full bool
	use := kind + " --reason TEXT"
	if kind == "set-weight" {
		use = "set-weight WEIGHT --reason TEXT"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, argv []string) error {
			ctx := cmd.Context()
			if strings.TrimSpace(reason) == "" {
				return errors.New("--reason is required: every change records why")
			}
			c := rollout.Command{Kind: kind, Full: full, Reason: reason, Actor: actor(), Time: time.Now()}
			if kind == "set-weight" {
				w, err := strconv.ParseFloat(argv[0], 64)
				if err != nil || w < 0 || w > 100 {
					return fmt.Errorf("weight %q: want a number from 0 to 100", argv[0])
				}
				c.Weight = w
			}
			j, name, err := openRollout(ctx, rf, false)
			if err != nil {
				return err
			}
			defer j.Close()
			c.Rollout = name
			if err := j.Enqueue(ctx, c); err != nil {
				return err
			}
			// No controller running: apply now, so status is right at once.
			if lock, err := rollout.AcquireLock(rf.state); err == nil {
				defer lock.Release()
				st, err := rollout.ApplyPending(ctx, j, name, c.Actor, time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s applied: %s at %g%% (no controller is running: the mirrors follow when one runs)\n", kind, st.Status, st.Weight)
				return nil
			}
			fmt.Fprintf(a.stdout, "%s queued: the running controller applies it within one interval\n", kind)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (journaled with who)")
	if kind == "promote" {
		cmd.Flags().BoolVar(&full, "full", false, "go straight to the last step (100%)")
	}
	return cmd
}

func writeJSONOut(a *app, v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// actor says who acts, for the journal: user@host.
func actor() string {
	name := os.Getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	host, _ := os.Hostname()
	return name + "@" + host
}
