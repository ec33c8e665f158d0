package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/geoblob/geoblob/internal/demo"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

// dashboardPace spreads the reads over about half a minute, so that the
// dashboard shows the outages happen.
const dashboardPace = 25 * time.Millisecond

func newDemoCmd() *cobra.Command {
	cfg := demo.DefaultConfig()
	var outages, scenario string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the RA-GRS circuit-breaker tutorial: 1000 reads, failing over and back",
		Long: `Run Microsoft's highly-available-application tutorial, rebuilt on geoblob.

The demo uploads HelloWorld.png (drawn by geoblob itself) to a new container
democontainer<uuid>, waits until the blob has replicated to the secondary,
then downloads it 1000 times through a geoblob circuit-breaking client,
printing P{i} or S{i} for the location that served each read. While a read
index is inside an outage the primary answers 503 to reads of the blob, so
reads fail over to the secondary and, once the primary recovers, back.

With no account configured it runs on the embedded emulator. It uses a real
RA-GRS or RA-GZRS account when --connection-string, the environment variable
AZURE_STORAGE_CONNECTION_STRING, or the original's accountname and
accountkey are set; the outage is then injected client-side.

The last line is the summary:
  reads: N primary: P secondary: S failed: F failovers: X failbacks: Y elapsed: D
The exit status is 0 only when no read failed, 2 when the demo could not
run (unreachable endpoint, bad credentials, no readable secondary).

--scenario failover runs the read loop through an unplanned account failover
on the embedded emulator instead: writes made while replication is paused,
a primary outage, the promotion of the secondary and the report of the
writes it lost, reads continuing on the new primary, and geo-redundancy
enabled again (bootstrap, then live). Same summary line and exit status.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			run := demo.Run
			switch scenario {
			case demo.ScenarioOutage:
				o, err := demo.ParseOutages(outages, cfg.Reads)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				cfg.Outages = o
			case demo.ScenarioFailover:
				if cmd.Flags().Changed("outages") {
					return &exitError{code: 2, err: errors.New("--outages applies to the outage scenario")}
				}
				cfg.Outages = nil
				run = demo.RunFailover
			default:
				return &exitError{code: 2, err: fmt.Errorf("--scenario %q: want %s or %s", scenario, demo.ScenarioOutage, demo.ScenarioFailover)}
			}
			cfg.ConfigFromEnv(os.Getenv)
			cfg.Stdout = cmd.OutOrStdout()
			cfg.Stdin = cmd.InOrStdin()
			if cfg.Dashboard {
				if !cmd.Flags().Changed("pace") {
					cfg.Pace = dashboardPace
				}
				cfg.Linger = func(ctx context.Context) {
					fmt.Fprintln(cmd.OutOrStdout(), "Reads done; the dashboard stays up until Ctrl-C.")
					<-ctx.Done()
				}
			}
			sum, err := run(cmd.Context(), cfg)
			if errors.Is(err, context.Canceled) {
				fmt.Fprintln(cmd.OutOrStdout(), sum)
				return &exitError{code: 130, err: errors.New("interrupted")}
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), sum)
			if sum.Failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d reads failed", sum.Failed)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&outages, "outages", demo.DefaultOutages, "read ranges FROM-TO (end exclusive) during which the primary is down, or none")
	f.StringVar(&scenario, "scenario", demo.ScenarioOutage, "outage (the tutorial) or failover (an unplanned account failover drill on the embedded emulator)")
	f.BoolVar(&cfg.Interactive, "interactive", false, "pause at reads 200, 400, 600 and 800; Enter toggles the outage")
	f.IntVar(&cfg.RetryThreshold, "retry-threshold", cfg.RetryThreshold, "consecutive primary failures that move reads to the secondary")
	f.IntVar(&cfg.SecondaryThreshold, "secondary-threshold", cfg.SecondaryThreshold, "secondary reads before the primary is tried again")
	f.StringVar(&cfg.ConnectionString, "connection-string", "", "connection string of a real RA-GRS/RA-GZRS account (default: $AZURE_STORAGE_CONNECTION_STRING, then accountname/accountkey, then the embedded emulator)")
	f.StringVar(&cfg.OutDir, "out", "", "directory for HelloWorldCopy.png (default: a new temporary directory)")
	f.BoolVar(&cfg.Quiet, "quiet", false, "print only the summary line")
	f.DurationVar(&cfg.Lag, "lag", cfg.Lag, "replication lag of the embedded emulator")
	f.IntVar(&cfg.Reads, "reads", cfg.Reads, "number of downloads")
	f.BoolVar(&cfg.Dashboard, "dashboard", false, "serve the embedded emulator's live dashboard, print its URL, pace the reads (--pace) and keep it up after them until Ctrl-C")
	f.DurationVar(&cfg.Pace, "pace", 0, "pause between reads (default 0; "+dashboardPace.String()+" with --dashboard)")
	return cmd
}
