package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/geoblob/geoblob/internal/control"
)

func newReplicationCmd() *cobra.Command {
	var cf controlFlags
	cmd := &cobra.Command{
		Use:   "replication",
		Short: "Pause, resume and inspect geo-replication on a running geoblob server",
		Long: `Control the asynchronous replication from primary to secondary on a running
geoblob server. While paused, LastSyncTime stands still and later writes stay
off the secondary. set-status changes the status Get Blob Service Stats
reports for the secondary, and nothing else; 'secondary down' takes the
secondary region down for real (reads fail too). After an unplanned failover
('geoblob failover --unplanned') enable makes the account geo-redundant again.`,
	}
	cf.register(cmd)
	simple := func(use, short, verb string, call func(*control.Client, context.Context) (control.ReplicationStatus, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := call(cf.client(), cmd.Context())
				if err != nil {
					return err
				}
				printReplication(cmd.OutOrStdout(), verb, st)
				return nil
			},
		}
	}
	cmd.AddCommand(
		simple("pause", "Pause replication", "replication paused", (*control.Client).PauseReplication),
		simple("resume", "Resume replication", "replication resumed", (*control.Client).ResumeReplication),
		simple("status", "Show the replication state", "", (*control.Client).Replication),
		&cobra.Command{
			Use:       "set-status live|bootstrap|unavailable",
			Short:     "Set the geo-replication status the secondary reports",
			Args:      cobra.ExactArgs(1),
			ValidArgs: []string{"live", "bootstrap", "unavailable"},
			RunE: func(cmd *cobra.Command, args []string) error {
				st, err := cf.client().SetReplicationStatus(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				printReplication(cmd.OutOrStdout(), "replication status set", st)
				return nil
			},
		},
	)
	cmd.AddCommand(replicationFailoverCmds(&cf)...)
	return cmd
}

// printReplication writes the state on one line, after what was done.
func printReplication(w io.Writer, done string, st control.ReplicationStatus) {
	state := "running"
	if st.Paused {
		state = "paused"
	}
	last := "never"
	if !st.LastSyncTime.IsZero() {
		last = st.LastSyncTime.UTC().Format(time.RFC3339Nano)
	}
	prefix := ""
	if done != "" {
		prefix = done + ": "
	}
	fmt.Fprintf(w, "%sstatus %s, %s, last sync %s, %d pending", prefix, st.Status, state, last, st.Pending)
	if st.Roles == nil {
		// Without roles there is no lag model to show: the lag is the
		// one the server started with.
		fmt.Fprintf(w, ", lag %v", st.Lag)
	}
	fmt.Fprintln(w)
	if r := st.Roles; r != nil {
		// The lag model (constant:LAG unless one was set) is the lag in
		// force; the server's --lag is only its starting point.
		fmt.Fprintf(w, "roles: primary copy %s, %s, epoch %d, lag model %s", r.Primary, r.Redundancy, r.Epoch, r.LagModel)
		if !r.BootstrapUntil.IsZero() {
			fmt.Fprintf(w, ", bootstrapping until %s", r.BootstrapUntil.UTC().Format(time.RFC3339))
		}
		if r.SecondaryDown {
			fmt.Fprint(w, ", secondary down")
		}
		if r.Swapping {
			fmt.Fprint(w, ", failover in progress")
		}
		fmt.Fprintln(w)
	}
}
