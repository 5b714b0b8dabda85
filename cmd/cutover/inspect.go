package main

import (
	"github.com/spf13/cobra"

	"github.com/cutover/cutover/replay"
)

type inspectConfig struct {
	json      bool
	maxBody   int
	tlsKeylog string
}

func newInspectCmd(a *app) *cobra.Command {
	var cfg inspectConfig
	cmd := &cobra.Command{
		Use:   "inspect FILE...",
		Short: "List the HTTP requests in captures (pcap, pcapng, gzip or not, HAR) without sending anything",
		Long: `Read captures and print every HTTP request found (HTTP/1.x, and HTTP/2 over
TLS or h2c; TLS decrypted with --tls-keylog or a pcapng's secrets), in capture order, with
the status of the recorded response when the capture holds it, then a summary
of streams, requests, responses and what was skipped and why (gaps in the
capture, malformed messages, TLS and other protocols).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			var c check
			if c.positive("max-body", int64(cfg.maxBody)); c.err != nil {
				return c.err
			}
			tuneGC()
			keys, err := loadKeyLog(cfg.tlsKeylog)
			if err != nil {
				return err
			}
			st, err := replay.Inspect(cmd.Context(), a.stdout, files, replay.InspectConfig{
				JSON: cfg.json,
				Read: replay.ReadConfig{MaxBody: cfg.maxBody, TLSKeys: keys},
			})
			a.log.Debug().Interface("stats", st).Msg("inspect done")
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&cfg.json, "json", false, "print JSON lines (one per request, then a summary object)")
	bytesVar(f, &cfg.maxBody, "max-body", 8<<20, "body bytes kept per request; larger ones are skipped as body_over_cap")
	f.StringVar(&cfg.tlsKeylog, "tls-keylog", "", tlsKeylogUsage)
	return cmd
}
