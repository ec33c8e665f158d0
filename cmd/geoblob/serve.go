package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/internal/memidle"
	"github.com/geoblob/geoblob/internal/slab"
)

func init() { subcommands = append(subcommands, newServeCmd) }

func newServeCmd() *cobra.Command {
	var (
		host          string
		port          int
		secondaryPort int
		lag           time.Duration
		accounts      []string
		dataDir       string
		controlToken  string
		verbose       bool
		certFile      string
		keyFile       string
		oauth         bool
		geo           geoFlags // lag model, bootstrap and swap durations (failover.go)
		idleRelease   time.Duration
		limits        emulator.Options // connection and size limits
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the geo-redundant Blob Storage emulator",
		Long: `Run the geo-redundant Blob Storage emulator: a read/write primary and a
read-only secondary that receives every write asynchronously after --lag.

Addressing is path-style, as in Azurite:
  primary    http://HOST:PORT/ACCOUNT
  secondary  http://HOST:PORT/ACCOUNT-secondary
             http://HOST:SECONDARY_PORT/ACCOUNT   (with --secondary-port;
                                                  0 picks a free port)
and host-style, as real accounts are addressed:
  primary    http://ACCOUNT.blob.localhost:PORT
  secondary  http://ACCOUNT-secondary.blob.localhost:PORT
(names under .localhost must resolve to loopback on the client).

With --cert and --key (PEM files) both listeners serve HTTPS instead. With
--oauth, which needs HTTPS, Microsoft Entra ID bearer tokens are accepted
besides Shared Key and SAS: their shape, issuer, audience and lifetime are
checked, not their signature, and every valid token may do everything.

The control API for fault injection and replication lives under
http://HOST:PORT/_geoblob/ and answers loopback clients only; with
--control-token (or GEOBLOB_CONTROL_TOKEN) every client, loopback included,
must present the token. The same checks guard the live dashboard at
http://HOST:PORT/_geoblob/ui/ and the Prometheus metrics at
http://HOST:PORT/_geoblob/metrics; a browser sends the token as the password
it is asked for.

With --data-dir every write is acknowledged only once it is on disk
(fsynced), blob bytes are kept in files rather than memory, and a restart
on the same directory resumes with all data and replication where it
stopped. Only one geoblob serve may use a directory at a time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := emulator.Options{
				Host:          host,
				Port:          port,
				SecondaryPort: secondaryPort,
				// As in emulator.Options, port 0 picks a free port; without
				// the flag there is no distinct secondary listener.
				NoSecondaryListener: !cmd.Flags().Changed("secondary-port"),
				Lag:                 lag,
				DataDir:             dataDir,
				ControlToken:        controlToken,
				MaxStagedBytes:      limits.MaxStagedBytes,
				RehydrateDelay:      limits.RehydrateDelay,
				Versioning:          limits.Versioning,
				ReadHeaderTimeout:   limits.ReadHeaderTimeout,
				ReadTimeout:         limits.ReadTimeout,
				WriteTimeout:        limits.WriteTimeout,
				IdleTimeout:         limits.IdleTimeout,
				MaxConns:            limits.MaxConns,
			}
			if err := geo.apply(&opts); err != nil {
				return &exitError{code: 2, err: err}
			}
			if opts.ControlToken == "" {
				opts.ControlToken = os.Getenv("GEOBLOB_CONTROL_TOKEN")
			}
			if certFile != "" || keyFile != "" {
				if certFile == "" || keyFile == "" {
					return errors.New("--cert and --key go together")
				}
				cfg, err := emulator.LoadTLS(certFile, keyFile)
				if err != nil {
					return err
				}
				opts.TLS = cfg
			}
			if oauth && opts.TLS == nil {
				return errors.New("--oauth needs --cert and --key: Azure accepts bearer tokens over HTTPS only")
			}
			opts.OAuth = oauth
			for _, a := range accounts {
				acct, err := emulator.ParseAccount(a)
				if err != nil {
					return fmt.Errorf("--account: %w", err)
				}
				opts.Accounts = append(opts.Accounts, acct)
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			emu, err := emulator.Start(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if idleRelease >= 0 {
				// The server is the whole process here, so it may hand memory
				// back to the OS once it goes quiet (see internal/memidle).
				// Writes applied to the secondary (deletions among them)
				// free memory without growing the heap: they count as work.
				work := func() uint64 { return emu.Replication().State().Applied }
				drop := func() { emu.DropResidentPages() }
				go memidle.New(memidle.Config{
					Idle: idleRelease, Work: work, DropMapped: drop,
					Offheap: slab.Default(), // large in-memory blob bytes
				}).Run(cmd.Context())
			}
			if dataDir != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "data dir: %s (durable; locked while running)\n", dataDir)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "geoblob emulator (replication lag %v)\n", lag)
			for _, name := range accountNames(opts.Accounts) {
				fmt.Fprintf(out, "account %s\n", name)
				fmt.Fprintf(out, "  primary:    %s\n", emu.ServiceURL(emulator.Primary, name))
				fmt.Fprintf(out, "  secondary:  %s\n", emu.ServiceURL(emulator.SecondaryPathStyle, name))
				if s := emu.ServiceURL(emulator.Secondary, name); s != emu.ServiceURL(emulator.SecondaryPathStyle, name) {
					fmt.Fprintf(out, "  secondary:  %s\n", s)
				}
				fmt.Fprintf(out, "  host-style primary:   %s\n", emu.HostStyleURL(emulator.Primary, name))
				fmt.Fprintf(out, "  host-style secondary: %s\n", emu.HostStyleURL(emulator.Secondary, name))
			}
			fmt.Fprintf(out, "connection string: %s\n", emu.ConnectionString())
			fmt.Fprintf(out, "control API: %s/_geoblob/\n", emu.URL())
			fmt.Fprintf(out, "dashboard:   %s\n", emu.DashboardURL())
			fmt.Fprintf(out, "metrics:     %s\n", emu.MetricsURL())
			fmt.Fprintln(out, "ready; press Ctrl-C to stop")
			<-cmd.Context().Done()
			fmt.Fprintln(out, "shutting down")
			return emu.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&host, "host", "127.0.0.1", "address to listen on")
	f.IntVar(&port, "port", 10000, "port of the primary (which also serves the secondary at /ACCOUNT-secondary)")
	f.IntVar(&secondaryPort, "secondary-port", 0, "port on which the secondary also answers as a distinct host at /ACCOUNT (0 picks a free port; without the flag there is none)")
	f.DurationVar(&lag, "lag", time.Second, "replication lag between a write on the primary and its arrival on the secondary")
	f.StringArrayVar(&accounts, "account", nil, "account as NAME:BASE64KEY (repeatable; default: the development account "+emulator.DevAccountName+")")
	f.StringVar(&dataDir, "data-dir", "", "keep all data durably in this directory (created if missing; locked while running); without it data lives in memory and is lost on exit")
	f.StringVar(&controlToken, "control-token", "", "token every control API client must present; admits non-loopback clients (env GEOBLOB_CONTROL_TOKEN)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log every request to stderr")
	f.DurationVar(&idleRelease, "release-idle-memory", memidle.DefaultIdle, "return freed memory to the OS once no request has allocated for this long (negative = never)")
	f.StringVar(&certFile, "cert", "", "PEM certificate (chain) to serve HTTPS with; needs --key")
	f.StringVar(&keyFile, "key", "", "PEM private key of --cert")
	f.BoolVar(&oauth, "oauth", false, "accept Microsoft Entra ID bearer tokens (needs --cert and --key; signatures are not checked)")
	f.DurationVar(&limits.ReadHeaderTimeout, "read-header-timeout", emulator.DefaultReadHeaderTimeout, "time allowed to read a request's headers (negative = none)")
	f.DurationVar(&limits.ReadTimeout, "read-timeout", emulator.DefaultReadTimeout, "drop a request whose body stops arriving for this long (negative = never)")
	f.DurationVar(&limits.WriteTimeout, "write-timeout", emulator.DefaultWriteTimeout, "drop a response the client stops reading for this long (negative = never)")
	f.DurationVar(&limits.IdleTimeout, "idle-timeout", emulator.DefaultIdleTimeout, "close a keep-alive connection idle for this long (negative = never)")
	f.IntVar(&limits.MaxConns, "max-conns", emulator.DefaultMaxConns, "most connections open at once; at the cap the longest-idle one is closed (negative = no cap)")
	geo.register(cmd)
	f.Int64Var(&limits.MaxStagedBytes, "max-staged-bytes", emulator.DefaultMaxStagedBytes, "most bytes of uncommitted blocks per account (negative = no cap)")
	f.DurationVar(&limits.RehydrateDelay, "rehydrate-delay", emulator.DefaultRehydrateDelay, "time a blob takes to rehydrate from the Archive tier (negative = at once)")
	f.BoolVar(&limits.Versioning, "versioning", false, "enable blob versioning on every account (the control API's /_geoblob/versioning changes it while running)")
	return cmd
}

func accountNames(accts []emulator.Account) []string {
	if len(accts) == 0 {
		return []string{emulator.DevAccountName}
	}
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = strings.TrimSpace(a.Name)
	}
	return names
}
