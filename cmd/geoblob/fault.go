package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/control"
)

func init() { subcommands = append(subcommands, newFaultCmd, newReplicationCmd) }

// controlFlags are the flags every control API command shares.
type controlFlags struct {
	server string
	token  string
}

func (f *controlFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.server, "server", "http://127.0.0.1:10000", "URL of the geoblob server")
	pf.StringVar(&f.token, "control-token", "", "control API token, needed from non-loopback clients (env GEOBLOB_CONTROL_TOKEN)")
}

func (f *controlFlags) client() *control.Client {
	tok := f.token
	if tok == "" {
		tok = os.Getenv("GEOBLOB_CONTROL_TOKEN")
	}
	return &control.Client{BaseURL: f.server, Token: tok, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

func newFaultCmd() *cobra.Command {
	var cf controlFlags
	cmd := &cobra.Command{
		Use:   "fault",
		Short: "Inject faults into a running geoblob server",
		Long: `Add, list, remove and clear fault-injection rules on a running geoblob
server through its control API. Rules are evaluated in order; the first
one that matches a request and whose limits allow it fires.`,
	}
	cf.register(cmd)
	cmd.AddCommand(newFaultAddCmd(&cf), newFaultListCmd(&cf), newFaultRemoveCmd(&cf), newFaultClearCmd(&cf))
	return cmd
}

func newFaultAddCmd(cf *controlFlags) *cobra.Command {
	var (
		r               fault.Rule
		endpoint, op    string
		latency, jitter time.Duration
		forD, after     time.Duration
		probability     float64
		resetAfter      int64
		resetAfterReq   int64
		ruleJSON        string
	)
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add a fault rule",
		Example: `  geoblob fault add --endpoint primary --status 503 --match-blob HelloWorld --method GET
  geoblob fault add --endpoint primary --latency 200ms --jitter 50ms --probability 0.5
  geoblob fault add --endpoint secondary --refuse --for 30s --after 10s
  geoblob fault add --rule '{"endpoint":"primary","action":{"hang":true},"limits":{"count":1}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			if ruleJSON != "" {
				for _, name := range []string{"endpoint", "status", "code", "message", "match-blob", "match-container", "match-account", "method", "op", "probability", "latency", "jitter", "reset", "reset-after-bytes", "reset-after-request-bytes", "hang", "refuse", "for", "after", "count"} {
					if f.Changed(name) {
						return fmt.Errorf("--rule cannot be combined with --%s", name)
					}
				}
				var err error
				if r, err = fault.ParseRule([]byte(ruleJSON)); err != nil {
					return err
				}
			} else {
				if err := checkActionFlags(f.Changed); err != nil {
					return err
				}
				r.Endpoint = fault.Endpoint(endpoint)
				r.Match.Op = fault.Op(op)
				r.Action.Latency, r.Action.Jitter = fault.Duration(latency), fault.Duration(jitter)
				r.Limits.For, r.Limits.After = fault.Duration(forD), fault.Duration(after)
				if f.Changed("probability") {
					r.Limits.Probability = new(probability)
				}
				if f.Changed("reset-after-bytes") {
					r.Action.ResetAfterBytes = new(resetAfter)
				}
				if f.Changed("reset-after-request-bytes") {
					r.Action.ResetAfterRequestBytes = new(resetAfterReq)
				}
				if err := r.Validate(); err != nil {
					return err
				}
			}
			st, err := cf.client().AddFault(cmd.Context(), r)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added fault %s: %s\n", st.ID, st.Rule)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint", "primary", "endpoint to break: primary, secondary or both")
	f.StringSliceVar(&r.Match.Methods, "method", nil, "match only these HTTP methods (repeatable)")
	f.StringVar(&op, "op", "", "match only reads (GET, HEAD) or writes (everything else): read|write")
	f.StringVar(&r.Match.Account, "match-account", "", "match only this account")
	f.StringVar(&r.Match.Container, "match-container", "", "match only this container")
	f.StringVar(&r.Match.Blob, "match-blob", "", "match blob names containing this text, or matching it as a glob when it holds * or ?")
	f.IntVar(&r.Action.Status, "status", 0, "answer with this HTTP status and an Azure error body (e.g. 503, 500, 429)")
	f.StringVar(&r.Action.Code, "code", "", "Azure error code for --status (default suits the status, e.g. ServerBusy for 503)")
	f.StringVar(&r.Action.Message, "message", "", "error message for --status")
	f.DurationVar(&latency, "latency", 0, "delay the request by this much (alone: before the real answer; with another action: before it)")
	f.DurationVar(&jitter, "jitter", 0, "add a random extra delay of up to this much")
	f.BoolVar(&r.Action.Reset, "reset", false, "reset the connection before answering")
	f.Int64Var(&resetAfter, "reset-after-bytes", 0, "let the answer through but reset the connection after this many body bytes")
	f.Int64Var(&resetAfterReq, "reset-after-request-bytes", 0, "reset the connection after this many bytes of the request body")
	f.BoolVar(&r.Action.Hang, "hang", false, "never answer; hold the request until the client gives up or the rule ends")
	f.BoolVar(&r.Action.Refuse, "refuse", false, "behave as a dead endpoint: refuse the connection")
	f.Float64Var(&probability, "probability", 1, "probability (0 to 1) that a matching request fires the rule")
	f.Int64Var(&r.Limits.Count, "count", 0, "fire at most this many times (0 = no limit)")
	f.DurationVar(&forD, "for", 0, "stay active this long once started (0 = until removed)")
	f.DurationVar(&after, "after", 0, "start this long from now, to schedule an outage")
	f.StringVar(&ruleJSON, "rule", "", "the whole rule as JSON, in the control API's format, instead of the flags above")
	return cmd
}

// actionFlags are the flags that each choose an action; one may be given,
// with --latency (and --jitter) in front of all but --hang and --refuse.
var actionFlags = []string{"status", "reset", "reset-after-bytes", "reset-after-request-bytes", "hang", "refuse"}

// checkActionFlags refuses conflicting actions in the user's terms, the
// flags, before the rule's own validation speaks of JSON fields.
func checkActionFlags(changed func(flag string) bool) error {
	var set []string
	for _, name := range actionFlags {
		if changed(name) {
			set = append(set, "--"+name)
		}
	}
	delayed := changed("latency") || changed("jitter")
	switch {
	case len(set) > 1:
		return fmt.Errorf("%s cannot be combined; give one action", strings.Join(set, " and "))
	case len(set) == 0 && !delayed:
		return errors.New("give an action: --status, --latency, --reset, --reset-after-bytes, --reset-after-request-bytes, --hang or --refuse")
	case delayed && len(set) == 1 && (set[0] == "--hang" || set[0] == "--refuse"):
		return fmt.Errorf("--latency cannot be combined with %s", set[0])
	}
	return nil
}

func newFaultListCmd(cf *controlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the fault rules in evaluation order, with how often each fired",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := cf.client().Faults(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(list) == 0 {
				fmt.Fprintln(out, "no faults")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tENDPOINT\tMATCH\tACTION\tLIMITS\tFIRED\tSTATE")
			for _, st := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", st.ID, st.Endpoint, st.Match, st.Action, st.Limits, st.Fired, st.State)
			}
			return tw.Flush()
		},
	}
}

func newFaultRemoveCmd(cf *controlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID...",
		Short: "Remove fault rules by id",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			c := cf.client()
			for _, id := range ids {
				if err := c.RemoveFault(cmd.Context(), id); err != nil {
					var ae *control.APIError
					if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
						return fmt.Errorf("no fault %s", id)
					}
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed fault %s\n", id)
			}
			return nil
		},
	}
}

func newFaultClearCmd(cf *controlFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "clear",
		Short: "Remove every fault rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := cf.client().ClearFaults(cmd.Context())
			if err != nil {
				return err
			}
			noun := "faults"
			if n == 1 {
				noun = "fault"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cleared %d %s\n", n, noun)
			return nil
		},
	}
}
