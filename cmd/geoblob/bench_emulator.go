package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/geoblob/geoblob/internal/emubench"
)

// newBenchEmulatorCmd is `geoblob bench emulator`: geoblob, Azurite and a
// floor server under one workload. Its hidden child floor-server is the
// floor process the harness starts.
func newBenchEmulatorCmd() *cobra.Command {
	var (
		smoke, asJSON, quiet bool
		outDir, geoblobBin   string
		readme               string
		flags                = emubench.DefaultConfig() // flag values; applied over the base configuration
		listSizes, clients   string
		largeMiB             int64
	)
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Benchmark the geoblob emulator against Azurite and a do-nothing floor server",
		Long: `Run one workload against the geoblob emulator (geoblob serve), Azurite ` + emubench.AzuriteVersion + `
and a floor server (a bare net/http handler that answers with the same bytes
and does no work), each as its own process on 127.0.0.1, and compare them:
4 KiB GETs and PUTs at several concurrencies, a large upload and parallel
download through azblob and through raw HTTP, List Blobs at growing container
sizes, and overwrites of a large blob with the replication lag on. Server CPU
comes from /proc/PID/stat, memory from /proc/PID/status (Linux only).

Azurite is installed with npm into --azurite-dir on first use. Without node,
npm or registry access the run says so and goes on without Azurite.

Figures on a shared machine are noisy: compare ratios within one run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := emubench.DefaultConfig()
			if smoke {
				cfg = emubench.SmokeConfig()
			}
			// A flag applies when given, or always outside --smoke (where
			// its default is the default configuration's value).
			set := func(name string) bool { return !smoke || cmd.Flags().Changed(name) }
			if set("clients") {
				cs, err := parseInts(clients)
				if err != nil {
					return fmt.Errorf("--clients: %w", err)
				}
				cfg.Clients = cs
			}
			if set("list-sizes") {
				ls, err := parseInts(listSizes)
				if err != nil {
					return fmt.Errorf("--list-sizes: %w", err)
				}
				cfg.ListSizes = ls
			}
			if set("large-mib") {
				cfg.LargeSize = largeMiB << 20
			}
			for name, apply := range map[string]func(){
				"azurite":          func() { cfg.Azurite = flags.Azurite },
				"azurite-dir":      func() { cfg.AzuriteDir = flags.AzuriteDir },
				"small-duration":   func() { cfg.SmallDuration = flags.SmallDuration },
				"small-rounds":     func() { cfg.SmallRounds = flags.SmallRounds },
				"large-reps":       func() { cfg.LargeReps = flags.LargeReps },
				"overwrites":       func() { cfg.Overwrites = flags.Overwrites },
				"azurite-list-max": func() { cfg.AzuriteListMax = flags.AzuriteListMax },
				"lag":              func() { cfg.Lag = flags.Lag },
				"settle":           func() { cfg.Settle = flags.Settle },
				"geoblob-disk":     func() { cfg.GeoblobDisk = flags.GeoblobDisk },
			} {
				if set(name) {
					apply()
				}
			}
			exe := geoblobBin
			if exe == "" {
				p, err := os.Executable()
				if err != nil {
					return fmt.Errorf("finding the geoblob binary: %w", err)
				}
				exe = p
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding the geoblob binary: %w", err)
			}
			cfg.Commands = emubench.Commands{
				Geoblob: func(port int, lag time.Duration, dataDir string) *exec.Cmd {
					args := []string{"serve", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--lag", lag.String()}
					if dataDir != "" {
						args = append(args, "--data-dir", dataDir)
					}
					return exec.Command(exe, args...)
				},
				Floor: func(port int, small, large int64) *exec.Cmd {
					return exec.Command(self, "bench", "emulator", "floor-server", "--port", strconv.Itoa(port),
						"--small", strconv.FormatInt(small, 10), "--large", strconv.FormatInt(large, 10))
				},
			}
			cfg.Log = cmd.ErrOrStderr()
			if quiet {
				cfg.Log = io.Discard
			}
			rep, err := emubench.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			rep.Command = "geoblob bench emulator"
			cmd.Flags().Visit(func(fl *pflag.Flag) { rep.Command += " --" + fl.Name + "=" + fl.Value.String() })
			if outDir != "" {
				if err := writeBenchFiles(outDir, rep); err != nil {
					return err
				}
			}
			if readme != "" {
				if err := updateReadme(readme, outDir, rep); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				err = rep.WriteJSON(out)
			} else {
				err = rep.WriteTable(out)
			}
			if err != nil {
				return err
			}
			bad := 0
			for _, p := range rep.Phases {
				if p.Errors > 0 {
					bad++
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d phases had errors", bad)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&smoke, "smoke", false, "seconds-long run with small sizes, geoblob and the floor only (for CI); explicit flags still apply")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON instead of the table")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	f.StringVar(&outDir, "out", "", "also write emulator.md, emulator.json and emulator.svg into this directory")
	f.StringVar(&readme, "readme", "", "rewrite the generated block of this Markdown file with the table (with --out, it links the picture)")
	f.StringVar(&geoblobBin, "geoblob-bin", "", "geoblob binary to bench (default: this one)")
	f.StringVar(&flags.Azurite, "azurite", flags.Azurite, "Azurite persistence: disk, memory, both or off")
	f.StringVar(&flags.AzuriteDir, "azurite-dir", flags.AzuriteDir, "npm prefix Azurite is installed into")
	f.StringVar(&clients, "clients", "1,16,64", "concurrency levels of the 4 KiB GET and PUT phases")
	f.DurationVar(&flags.SmallDuration, "small-duration", flags.SmallDuration, "length of each 4 KiB phase")
	f.IntVar(&flags.SmallRounds, "small-rounds", flags.SmallRounds, "rounds each 4 KiB phase is split into, each starting with the next server")
	f.Int64Var(&largeMiB, "large-mib", flags.LargeSize>>20, "size of the large blob in MiB")
	f.IntVar(&flags.LargeReps, "large-reps", flags.LargeReps, "repetitions of each large upload and download")
	f.StringVar(&listSizes, "list-sizes", "1000,10000,100000", `blobs per listed container, comma-separated ("none" skips listing)`)
	f.IntVar(&flags.AzuriteListMax, "azurite-list-max", flags.AzuriteListMax, "list Azurite only on containers up to this many blobs (0: all sizes)")
	f.IntVar(&flags.Overwrites, "overwrites", flags.Overwrites, "overwrites of the large blob with the lag on (0 skips)")
	f.DurationVar(&flags.Lag, "lag", flags.Lag, "geoblob's replication lag")
	f.DurationVar(&flags.Settle, "settle", flags.Settle, "wait before reading RSS after each group of phases")
	f.BoolVar(&flags.GeoblobDisk, "geoblob-disk", flags.GeoblobDisk, "also bench geoblob with --data-dir (in a temporary directory) as server geoblob-disk")
	cmd.AddCommand(newFloorServerCmd())
	return cmd
}

// parseInts reads "1,16,64"; "none" and "" are the empty list.
func parseInts(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// writeBenchFiles writes the table, the JSON and the picture into dir.
func writeBenchFiles(dir string, rep *emubench.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{
		"emulator.md":   rep.WriteTable,
		"emulator.json": rep.WriteJSON,
		"emulator.svg":  rep.WriteSVG,
	} {
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		err = write(fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("--out: %s: %w", name, err)
		}
	}
	return nil
}

// updateReadme rewrites the generated block of the Markdown file at path.
func updateReadme(path, outDir string, rep *emubench.Report) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--readme: %w", err)
	}
	svg := ""
	if outDir != "" {
		rel, err := filepath.Rel(filepath.Dir(path), filepath.Join(outDir, "emulator.svg"))
		if err != nil {
			return fmt.Errorf("--readme: %w", err)
		}
		svg = filepath.ToSlash(rel)
	}
	doc, err = rep.UpdateReadme(doc, svg)
	if err != nil {
		return fmt.Errorf("--readme: %w", err)
	}
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		return fmt.Errorf("--readme: %w", err)
	}
	return nil
}

// newFloorServerCmd is the hidden floor process of the bench.
func newFloorServerCmd() *cobra.Command {
	var (
		host         string
		port         int
		small, large int64
	)
	cmd := &cobra.Command{
		Use:    "floor-server",
		Short:  "Serve the bench's do-nothing floor handler",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if small <= 0 || large <= 0 {
				return errors.New("--small and --large must be positive")
			}
			return emubench.ServeFloor(cmd.Context(), net.JoinHostPort(host, strconv.Itoa(port)), small, large, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&host, "host", "127.0.0.1", "address to listen on")
	f.IntVar(&port, "port", 0, "port to listen on")
	f.Int64Var(&small, "small", 4<<10, "size of the small payload")
	f.Int64Var(&large, "large", 64<<20, "size of the large payload")
	return cmd
}

func init() { benchSubcommands = append(benchSubcommands, newBenchEmulatorCmd) }
