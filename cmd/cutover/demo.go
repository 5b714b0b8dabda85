package main

import (
	"fmt"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/internal/demo"
)

type demoFlags struct {
	duration time.Duration
	weight   float64
	rate     float64
	jsonPath string
	report   string
}

func newDemoCmd(a *app) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See cutover work: mirror live load in front of the local NGINX/Lua test bed",
		Long: `demo starts the test bed (origin, legacy NGINX/Lua, a second legacy for noise,
the Go candidate), runs cutover mirror in front of it, drives a mixed load, turns
on a candidate regression half way, and prints the summary. Needs NGINX with the
Lua module ('make demo' installs it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var c check
			c.duration("duration", f.duration)
			c.number("weight", f.weight, 0, 100)
			c.number("rate", f.rate, math.SmallestNonzeroFloat64, math.MaxFloat64)
			c.writable("json", f.jsonPath)
			c.writable("report", f.report)
			if c.err != nil {
				return c.err
			}
			s, err := demo.Run(cmd.Context(), a.log, demo.Config{Duration: f.duration, Weight: f.weight, Rate: f.rate, Out: a.stdout})
			if err != nil {
				return err
			}
			if err := a.writeResults(f.jsonPath, f.report, &s); err != nil {
				return err
			}
			if f.jsonPath != "" {
				fmt.Fprintf(a.stdout, "\nsummary JSON: %s\n", f.jsonPath)
			}
			if f.report != "" {
				fmt.Fprintf(a.stdout, "HTML report: %s\n", f.report)
			}
			// The demo injects a regression on purpose: a failed verdict
			// (exit 1) is the product working.
			return verdictOf(s)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.duration, "duration", time.Minute, "how long to drive the load")
	fl.Float64Var(&f.weight, "weight", 10, "percent of users the candidate serves")
	fl.Float64Var(&f.rate, "rate", 200, "requests per second")
	fl.StringVar(&f.jsonPath, "json", "", "also write the summary JSON here")
	fl.StringVar(&f.report, "report", "", "also write the HTML report here")
	return cmd
}
