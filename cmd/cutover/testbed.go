package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/testbed"
)

type testbedUpConfig struct {
	secondary bool
	ipv6      bool
	switches  string
	edge      string
}

func newTestbedCmd(a *app) *cobra.Command {
	cmd := withSubcommands(&cobra.Command{
		Use:   "testbed",
		Short: "Run the local test bed: origin, legacy NGINX/Lua edge and the candidate fixture",
	})
	cmd.AddCommand(newTestbedUpCmd(a))
	return cmd
}

func newTestbedUpCmd(a *app) *cobra.Command {
	var cfg testbedUpConfig
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the test bed on loopback, print where each part listens, run until interrupted",
		Long: `Start origin, the legacy edge (NGINX with the Lua module), optionally a second
legacy instance, and the candidate fixture, each on a free loopback port. The
candidate's switches (see internal/testbed.Switches) can be set at start with
--switches and changed while it runs:

  curl -X PUT --data '{"error_rate":0.05}' CONTROL_URL/switches`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bcfg := testbed.Config{Secondary: cfg.secondary, IPv6: cfg.ipv6}
			if cfg.switches != "" {
				// A mistyped switch would silently test nothing.
				dec := json.NewDecoder(strings.NewReader(cfg.switches))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&bcfg.Candidate.Switches); err != nil {
					return fmt.Errorf("invalid --switches: %w", err)
				}
				if dec.More() {
					return fmt.Errorf("invalid --switches: more than one JSON value")
				}
			}
			if cfg.edge != "" {
				if cfg.switches != "" {
					return fmt.Errorf("--switches are the fixture's: the --candidate-edge candidate has none")
				}
				bcfg.EdgeCandidate = &testbed.FieldChange{}
				dec := json.NewDecoder(strings.NewReader(cfg.edge))
				dec.DisallowUnknownFields()
				if err := dec.Decode(bcfg.EdgeCandidate); err != nil {
					return fmt.Errorf("invalid --candidate-edge: %w", err)
				}
			}
			ctx := cmd.Context()
			bed, err := testbed.Start(ctx, a.log, bcfg)
			if err != nil {
				return err
			}
			defer bed.Stop()
			printBed(a, bed)
			a.log.Info().Msg("test bed running; interrupt to stop")
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&cfg.secondary, "secondary", false, "also start a second legacy instance (for noise detection)")
	f.BoolVar(&cfg.ipv6, "ipv6", false, "legacy instances also listen on [::1]")
	f.StringVar(&cfg.switches, "switches", "", `candidate switches as JSON, e.g. '{"error_rate":0.05}'`)
	f.StringVar(&cfg.edge, "candidate-edge", "", `the candidate is the legacy NGINX/Lua edge with one field changed on one path, e.g. '{"path":"/api/items/7","field":"price","value":999}'`)
	return cmd
}

func printBed(a *app, bed *testbed.Bed) {
	w := a.stdout
	fmt.Fprintf(w, "origin     %s\n", bed.Origin.URL)
	fmt.Fprintf(w, "legacy     %s  (access log %s)\n", bed.Legacy.URL, bed.Legacy.AccessLog)
	if bed.Legacy.AddrV6 != "" {
		fmt.Fprintf(w, "legacy v6  http://%s\n", bed.Legacy.AddrV6)
	}
	if bed.Secondary != nil {
		fmt.Fprintf(w, "secondary  %s  (access log %s)\n", bed.Secondary.URL, bed.Secondary.AccessLog)
	}
	if bed.EdgeCandidate != nil {
		fmt.Fprintf(w, "candidate  %s  (NGINX/Lua edge, access log %s)\n", bed.EdgeCandidate.URL, bed.EdgeCandidate.AccessLog)
	} else {
		fmt.Fprintf(w, "candidate  %s  (control %s/switches)\n", bed.Candidate.URL, bed.Candidate.ControlURL)
	}
	if f, ok := w.(*os.File); ok {
		f.Sync()
	}
}
