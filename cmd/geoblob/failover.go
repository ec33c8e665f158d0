package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/internal/control"
)

func init() { subcommands = append(subcommands, newFailoverCmd) }

func newFailoverCmd() *cobra.Command {
	var (
		cf                       controlFlags
		planned, unplanned, keep bool
		asJSON                   bool
	)
	cmd := &cobra.Command{
		Use:   "failover --planned|--unplanned",
		Short: "Fail the account over on a running geoblob server (a failover drill)",
		Long: `Fail the account over, as Azure's account failover does, on a running
geoblob server.

--planned needs both regions healthy. Writes are refused (503) while the
secondary catches up and the roles swap; nothing is lost and the account
stays geo-redundant, the secondary now replicating from the new primary.
--keep-secondary-reads keeps the secondary serving reads during the swap.

--unplanned promotes the secondary at once: the primary endpoint then serves
what had replicated by the LastSyncTime, and every later write is lost; they
are listed here. The account becomes locally redundant (LRS): the secondary
stops answering until 'geoblob replication enable'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if planned == unplanned {
				return &exitError{code: 2, err: errors.New("give exactly one of --planned and --unplanned")}
			}
			req := control.FailoverRequest{Type: "planned", KeepSecondaryReads: keep}
			if unplanned {
				if keep {
					return &exitError{code: 2, err: errors.New("--keep-secondary-reads applies to --planned only")}
				}
				req.Type = "unplanned"
			}
			rep, err := cf.client().Failover(cmd.Context(), req)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printFailover(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&planned, "planned", false, "planned failover: catch up, swap the roles, lose nothing")
	f.BoolVar(&unplanned, "unplanned", false, "unplanned failover: promote the secondary now, lose the writes after LastSyncTime")
	f.BoolVar(&keep, "keep-secondary-reads", false, "with --planned: keep the secondary serving reads during the swap")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// printFailover writes a failover report: what changed, the recovery
// point, and every lost write, one per line.
func printFailover(w io.Writer, rep control.FailoverReport) {
	fmt.Fprintf(w, "%s failover done: the primary endpoint now serves copy %s (was %s); epoch %d; account is %s\n",
		rep.Type, rep.To, rep.From, rep.Epoch, rep.Redundancy)
	fmt.Fprintf(w, "recovery point (LastSyncTime): %s\n", rfc3339(rep.RecoveryPoint))
	if len(rep.Lost) == 0 {
		fmt.Fprintln(w, "lost writes: none")
		return
	}
	fmt.Fprintf(w, "lost writes: %d, %d bytes (committed after the recovery point, never replicated):\n", len(rep.Lost), rep.LostBytes)
	for _, l := range rep.Lost {
		path := l.Account
		if l.Container != "" {
			path += "/" + l.Container
		}
		if l.Blob != "" {
			path += "/" + l.Blob
		}
		line := fmt.Sprintf("  %s  %-16s %s", rfc3339(l.Committed), l.Op, path)
		if l.ETag != "" {
			line += "  etag " + l.ETag + "  " + strconv.FormatInt(l.Bytes, 10) + " bytes"
		}
		fmt.Fprintln(w, line)
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// replicationFailoverCmds are the geo-redundancy subcommands of geoblob
// replication.
func replicationFailoverCmds(cf *controlFlags) []*cobra.Command {
	var seed uint64
	lag := &cobra.Command{
		Use:   "lag MODEL",
		Short: "Set how each write's replication lag is drawn",
		Long: `Set the replication lag model for later writes:
  constant:D                  every write lags D
  jitter:BASE,JITTER          BASE plus a uniform extra below JITTER
  tail:TYPICAL[,BOUND,P,MAX]  a share P of writes lag about TYPICAL (under
                              BOUND), the rest between BOUND and MAX
  gpr                         Geo Priority Replication's promise:
                              tail:30s,15m,0.99,1h
Random models are seeded (--seed), so a drill is reproducible.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := cf.client().SetLagModel(cmd.Context(), args[0], seed)
			if err != nil {
				return err
			}
			printReplication(cmd.OutOrStdout(), "lag model set", st)
			return nil
		},
	}
	lag.Flags().Uint64Var(&seed, "seed", 1, "seed of a random lag model")
	return []*cobra.Command{
		{
			Use:   "enable",
			Short: "Make the account geo-redundant again after an unplanned failover",
			Long: `Start a new secondary from the current primary. It reports status bootstrap
(without a LastSyncTime) and refuses reads until it has bootstrapped (serve
--bootstrap-duration), then goes live and replicates every later write.`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := cf.client().EnableGeoRedundancy(cmd.Context())
				if err != nil {
					return err
				}
				printReplication(cmd.OutOrStdout(), "geo-redundancy enabled", st)
				return nil
			},
		},
		{
			Use:       "secondary down|up",
			Short:     "Take the secondary region down (status unavailable, reads fail) or bring it back",
			Args:      cobra.ExactArgs(1),
			ValidArgs: []string{"down", "up"},
			RunE: func(cmd *cobra.Command, args []string) error {
				if args[0] != "down" && args[0] != "up" {
					return &exitError{code: 2, err: fmt.Errorf("secondary %q: want down or up", args[0])}
				}
				st, err := cf.client().SetSecondaryAvailable(cmd.Context(), args[0] == "up")
				if err != nil {
					return err
				}
				printReplication(cmd.OutOrStdout(), "secondary "+args[0], st)
				return nil
			},
		},
		lag,
	}
}

// geoFlags are serve's flags for replication realism and failover.
type geoFlags struct {
	lagModel  string
	lagSeed   uint64
	bootstrap time.Duration
	swap      time.Duration
}

func (g *geoFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&g.lagModel, "lag-model", "", "draw each write's lag: constant:D, jitter:BASE,JITTER, tail:TYPICAL[,BOUND,P,MAX] or gpr (default: constant --lag)")
	f.Uint64Var(&g.lagSeed, "lag-seed", 1, "seed of a random --lag-model")
	f.DurationVar(&g.bootstrap, "bootstrap-duration", emulator.DefaultBootstrapDuration, "how long a secondary started by 'replication enable' bootstraps (negative = none)")
	f.DurationVar(&g.swap, "swap-duration", 0, "how long a planned failover refuses writes while it swaps the roles")
}

func (g *geoFlags) apply(o *emulator.Options) error {
	if g.lagModel != "" {
		m, err := emulator.ParseLagModel(g.lagModel, g.lagSeed)
		if err != nil {
			return fmt.Errorf("--lag-model: %w", err)
		}
		o.LagModel = m
	}
	if g.swap < 0 {
		return errors.New("--swap-duration: negative")
	}
	o.BootstrapDuration, o.SwapDuration = g.bootstrap, g.swap
	return nil
}
