// Command geoblob is the command-line front end of geoblob: it runs the
// geo-redundant Blob Storage emulator (serve), breaks it on purpose (fault,
// replication) and runs the circuit-breaker demo (demo).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// subcommands holds the constructors of every subcommand. Each subcommand
// lives in its own file and registers itself from an init function, so
// adding a command never means editing this file.
var subcommands []func() *cobra.Command

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "geoblob",
		Short:         "Geo-redundant Azure Blob Storage: emulator, fault injection and circuit-breaker demo",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	// An unknown flag or a value that does not parse is a usage error:
	// exit status 2, as the README documents. Subcommands inherit this.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: 2, err: err}
	})
	for _, sub := range subcommands {
		root.AddCommand(sub())
	}
	return root
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a clean stop; restoring the default handling
	// then lets a second one end the process at once, should the cleanup
	// hang (a container delete on a sick endpoint, say).
	context.AfterFunc(ctx, stop)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "geoblob: %v\n", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}
