package main

import (
	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newBenchCmd) }

// benchSubcommands holds the constructors of the `geoblob bench`
// subcommands; each registers itself from its own file's init function.
var benchSubcommands []func() *cobra.Command

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure geoblob and the emulator",
		Args:  cobra.NoArgs,
	}
	for _, sub := range benchSubcommands {
		cmd.AddCommand(sub())
	}
	return cmd
}
