package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/geoblob/geoblob/internal/failoverbench"
)

func init() { benchSubcommands = append(benchSubcommands, newBenchFailoverCmd) }

func newBenchFailoverCmd() *cobra.Command {
	var (
		quick, asJSON bool
		out           string
		scenarios     []string
		clients       []string
		readers       int
		outage        time.Duration
		seed          uint64
	)
	cmd := &cobra.Command{
		Use:   "failover",
		Short: "Compare geoblob, plain azblob and a per-request alternation through scripted outages",
		Long: `Run 16 concurrent readers per client against an in-process emulator while
its fault rules take the primary (or both locations) down, for three clients:

  geoblob      geoblob.DefaultConfig() and the SDK's default ClientOptions
  azblob       plain azblob with the SDK's default retries
  alternation  a per-request policy modelling the other Azure SDKs: try 1 on
               the primary, the other location on each retry, a 404 from the
               secondary sends the rest of the request to the primary

Scenarios: ` + fmt.Sprint(failoverbench.AllScenarios()) + `.

The table goes to stdout (the JSON report instead with --json). The table,
results.json, reads.csv (every read) and one latency-SCENARIO.svg per
scenario are written to --out. The verdict column checks geoblob's rows
against the targets of issue 9; the exit status does not depend on it.

A default run takes a few minutes; --quick runs every scenario with short
outages and the clients side by side, in well under a minute.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := failoverbench.DefaultConfig()
			if quick {
				cfg = failoverbench.QuickConfig()
			}
			f := cmd.Flags()
			if f.Changed("readers") {
				cfg.Readers = readers
			}
			if f.Changed("outage") {
				cfg.Outage = outage
			}
			if f.Changed("seed") {
				cfg.Seed = seed
			}
			cfg.Scenarios, cfg.Clients = scenarios, clients
			progress := cmd.ErrOrStderr()
			rep, err := failoverbench.Run(cmd.Context(), cfg, progress)
			if err != nil {
				return err
			}
			if out != "" {
				if err := failoverbench.WriteFiles(out, rep); err != nil {
					return fmt.Errorf("writing %s: %w", out, err)
				}
				fmt.Fprintf(progress, "wrote %s\n", out)
			}
			if asJSON {
				return failoverbench.WriteJSON(cmd.OutOrStdout(), rep)
			}
			return failoverbench.WriteTable(cmd.OutOrStdout(), rep)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&quick, "quick", false, "short outages, clients side by side: well under a minute")
	f.BoolVar(&asJSON, "json", false, "print the JSON report instead of the table")
	f.StringVar(&out, "out", "bench-failover", `directory for the table, JSON, CSV and SVGs ("" writes none)`)
	f.StringSliceVar(&scenarios, "scenario", nil, "run only these scenarios (repeatable)")
	f.StringSliceVar(&clients, "client", nil, "run only these clients: geoblob, azblob, alternation (repeatable)")
	f.IntVar(&readers, "readers", 16, "concurrent readers per client")
	f.DurationVar(&outage, "outage", 0, "outage length (default 4s, 1s with --quick)")
	f.Uint64Var(&seed, "seed", 1, "seed of the fault draws and the readers' choices")
	return cmd
}
