package main

import "github.com/spf13/cobra"

// This file is a minimal `geoblob bench` parent for `bench emulator`; the
// lead reconciles it with the `bench failover` branch, which brings its own
// parent. All that must survive the merge is
// benchCmd.AddCommand(newBenchEmulatorCmd()).

func init() { subcommands = append(subcommands, newBenchCmd) }

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the geoblob emulator and client",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBenchEmulatorCmd())
	return cmd
}
