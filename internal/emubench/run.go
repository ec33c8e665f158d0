package emubench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

// Run starts the servers, runs the workload against each, stops them and
// returns the report. Servers run one phase at a time, in turn, so that
// they never compete for the CPU; the machine's other load still shows in
// the figures, and Report.Machine records the load average around the run.
// A server that fails to start is an error for geoblob and the floor; for
// Azurite it becomes a note, and the run goes on without it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	logf := func(format string, a ...any) { fmt.Fprintf(logw, format+"\n", a...) }
	rep := &Report{Started: time.Now().UTC(), Config: cfg, Machine: machine()}
	cred, err := azblob.NewSharedKeyCredential(emulator.DevAccountName, emulator.DevAccountKey)
	if err != nil {
		return nil, fmt.Errorf("emubench: credential: %w", err)
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	start := func(name string, cmd func(port int) (*exec.Cmd, func(), error)) (*server, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		c, cleanup, err := cmd(port)
		if err != nil {
			return nil, err
		}
		base := fmt.Sprintf("http://127.0.0.1:%d/%s", port, emulator.DevAccountName)
		s, err := startServer(ctx, name, c, base, cred, cfg.StartTimeout)
		if err != nil {
			if cleanup != nil {
				cleanup()
			}
			return nil, err
		}
		if cleanup != nil {
			s.cleanup = append(s.cleanup, cleanup)
		}
		logf("%s: pid %d, first answer %v after start", name, s.pid(), s.startup.Round(time.Millisecond))
		rep.Servers = append(rep.Servers, ServerResult{Name: name, StartupMS: ms(s.startup), RSSAfter: map[string]float64{}})
		servers = append(servers, s)
		return s, nil
	}

	if _, err := start(Geoblob, func(port int) (*exec.Cmd, func(), error) {
		return cfg.Commands.Geoblob(port, cfg.Lag, ""), nil, nil
	}); err != nil {
		return nil, err
	}
	if cfg.GeoblobDisk {
		if _, err := start(GeoblobDisk, func(port int) (*exec.Cmd, func(), error) {
			dir, err := os.MkdirTemp("", "geoblob-bench-data-")
			if err != nil {
				return nil, nil, fmt.Errorf("emubench: geoblob data dir: %w", err)
			}
			return cfg.Commands.Geoblob(port, cfg.Lag, dir), func() { _ = os.RemoveAll(dir) }, nil
		}); err != nil {
			return nil, err
		}
	}
	if cfg.Azurite != AzuriteOff {
		az, err := EnsureAzurite(ctx, cfg.AzuriteDir, AzuriteVersion, logw)
		if err != nil {
			note := fmt.Sprintf("Azurite unavailable, so geoblob is benched without it: %v", err)
			logf("%s", note)
			rep.Notes = append(rep.Notes, note)
		} else {
			rep.Machine.NodeVersion = commandOutput(az.Node, "--version")
			modes := map[string][]string{AzuriteDisk: {AzuriteName}, AzuriteMemory: {AzuriteMemNm}, AzuriteBoth: {AzuriteName, AzuriteMemNm}}[cfg.Azurite]
			for _, name := range modes {
				_, err := start(name, func(port int) (*exec.Cmd, func(), error) {
					dir, err := os.MkdirTemp("", "geoblob-bench-azurite-")
					if err != nil {
						return nil, nil, fmt.Errorf("emubench: azurite workspace: %w", err)
					}
					return az.command(port, dir, name == AzuriteMemNm), func() { _ = os.RemoveAll(dir) }, nil
				})
				if err != nil {
					note := fmt.Sprintf("%s did not start, so geoblob is benched without it: %v", name, err)
					logf("%s", note)
					rep.Notes = append(rep.Notes, note)
					continue
				}
				rep.Servers[len(rep.Servers)-1].Version = az.Version
			}
		}
	}
	if cfg.Commands.Floor != nil {
		if _, err := start(Floor, func(port int) (*exec.Cmd, func(), error) {
			return cfg.Commands.Floor(port, cfg.SmallSize, cfg.LargeSize), nil, nil
		}); err != nil {
			return nil, err
		}
	}

	b := &bench{cfg: &cfg, rep: rep, logf: logf,
		small: Payload(cfg.SmallSize), large: Payload(cfg.LargeSize), dst: make([]byte, cfg.LargeSize)}
	for i := 0; i < len(b.dst); i += 4096 {
		b.dst[i] = 1 // touch the download buffer once, outside any measurement
	}
	if err := b.workload(ctx, servers); err != nil {
		return nil, err
	}
	for _, s := range servers {
		if _, hwm, err := readMem(s.pid()); err == nil {
			b.result(s.name).HWMMB = mb(hwm)
		}
	}
	for _, s := range servers {
		s.stop()
	}
	servers = nil
	rep.Machine.LoadAvgEnd = readTrim("/proc/loadavg")
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.buildRows()
	rep.buildVerdicts()
	return rep, nil
}

// bench holds what the phases share.
type bench struct {
	cfg               *Config
	rep               *Report
	logf              func(string, ...any)
	small, large, dst []byte
}

func (b *bench) result(name string) *ServerResult {
	for i := range b.rep.Servers {
		if b.rep.Servers[i].Name == name {
			return &b.rep.Servers[i]
		}
	}
	panic("emubench: no result for server " + name) // unreachable: every started server has one
}

// workload runs every phase on every server that takes part in it.
func (b *bench) workload(ctx context.Context, servers []*server) error {
	cfg := b.cfg
	all := servers
	noFloor := slices.DeleteFunc(slices.Clone(servers), func(s *server) bool { return s.name == Floor })

	// Set-up, not measured: the bench container, the small blobs, and a
	// warm-up that opens as many connections as the highest concurrency.
	maxC := slices.Max(cfg.Clients)
	for _, s := range all {
		if err := createContainer(ctx, s, benchContainer); err != nil {
			return err
		}
		o := fill(ctx, s, benchContainer, cfg.SmallBlobs, min(cfg.SmallBlobs, maxC), b.small, smallName)
		if o.errs > 0 {
			return fmt.Errorf("emubench: %s: writing the small blobs: %w", s.name, o.firstErr)
		}
		if err := verifySmall(ctx, s, b.small); err != nil {
			return fmt.Errorf("emubench: %s: %w", s.name, err)
		}
		cfgW := *cfg
		cfgW.SmallMaxOps, cfgW.SmallDuration = 2*maxC, time.Minute
		if o := smallGet(ctx, s, &cfgW, maxC); o.errs > 0 {
			return fmt.Errorf("emubench: %s: warm-up: %w", s.name, o.firstErr)
		}
	}

	// Each small phase is split into rounds, which share its bounds.
	rounds := cfg.SmallRounds
	cfgR := *cfg
	cfgR.SmallDuration = cfg.SmallDuration / time.Duration(rounds)
	cfgR.SmallMaxOps = (cfg.SmallMaxOps + rounds - 1) / rounds
	for _, c := range cfg.Clients {
		b.phaseRounds(ctx, all, fmt.Sprintf("small-get-c%d", c), "small", c, false, rounds, func(s *server) outcome { return smallGet(ctx, s, &cfgR, c) })
	}
	for _, c := range cfg.Clients {
		b.phaseRounds(ctx, all, fmt.Sprintf("small-put-c%d", c), "small", c, false, rounds, func(s *server) outcome { return smallPut(ctx, s, &cfgR, c, b.small) })
	}
	b.settle(ctx, all, "small")

	b.phase(ctx, all, "upload-azblob", "large", cfg.LargeConc, true, func(s *server) outcome {
		return azblobUpload(ctx, s, cfg, LargePrefix+"-azblob", cfg.LargeReps, b.large)
	})
	b.phase(ctx, all, "download-azblob", "large", cfg.LargeConc, true, func(s *server) outcome {
		return azblobDownload(ctx, s, cfg, LargePrefix+"-azblob", b.dst, b.large)
	})
	raws := map[string]*rawClient{}
	for _, s := range all {
		rc, err := newRawClient(s)
		if err != nil {
			return err
		}
		raws[s.name] = rc
	}
	b.phase(ctx, all, "upload-raw", "large", cfg.LargeConc, true, func(s *server) outcome {
		return rawUpload(ctx, raws[s.name], cfg, LargePrefix+"-raw", b.large)
	})
	b.phase(ctx, all, "download-raw", "large", cfg.LargeConc, true, func(s *server) outcome {
		return rawDownload(ctx, raws[s.name], cfg, LargePrefix+"-raw", b.dst, b.large)
	})
	b.settle(ctx, all, "large")
	// Each group deletes what it wrote once its RSS is read, so that a
	// later group's memory is its own work (see the package doc).
	for _, s := range noFloor {
		for _, name := range []string{LargePrefix + "-azblob", LargePrefix + "-raw"} {
			if err := deleteBlob(ctx, s, benchContainer, name); err != nil {
				return err
			}
		}
	}

	if len(cfg.ListSizes) > 0 {
		capped := false
		listed := noFloor
		var kept []int // sizes every server listed
		for _, n := range cfg.ListSizes {
			noFloor := noFloor
			if cfg.AzuriteListMax > 0 && n > cfg.AzuriteListMax {
				noFloor = slices.DeleteFunc(slices.Clone(noFloor), func(s *server) bool { return s.name == AzuriteName || s.name == AzuriteMemNm })
				capped = true
			}
			for _, s := range noFloor {
				if err := createContainer(ctx, s, listContainer(n)); err != nil {
					return err
				}
			}
			b.phase(ctx, noFloor, fmt.Sprintf("list-fill-%d", n), "list", cfg.FillConc, false, func(s *server) outcome {
				return fill(ctx, s, listContainer(n), n, cfg.FillConc, nil, listName(cfg.ListDirs))
			})
			b.phase(ctx, noFloor, fmt.Sprintf("list-flat-%d", n), "list", 1, false, func(s *server) outcome { return listFlat(ctx, s, cfg, n) })
			b.phase(ctx, noFloor, fmt.Sprintf("list-delim-%d", n), "list", 1, false, func(s *server) outcome { return listDelim(ctx, s, cfg, n) })
			if len(noFloor) < len(listed) {
				// Not every server holds this container: it goes before
				// RSS is read, so that RSS compares servers holding the
				// same blobs.
				for _, s := range noFloor {
					if err := deleteContainer(ctx, s, listContainer(n)); err != nil {
						return err
					}
				}
			} else {
				kept = append(kept, n)
			}
		}
		b.settle(ctx, all, "list")
		for _, n := range kept {
			for _, s := range listed {
				if err := deleteContainer(ctx, s, listContainer(n)); err != nil {
					return err
				}
			}
		}
		if capped && len(noFloor) > 1 {
			b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("Azurite was listed only up to %d blobs (its fill is slow); larger containers were listed on geoblob alone, and deleted before RSS was read. Raise --azurite-list-max to compare them.", cfg.AzuriteListMax))
		}
	}

	if cfg.Overwrites > 0 {
		b.phase(ctx, all, "overwrite", "overwrite", 1, true, func(s *server) outcome { return overwrite(ctx, s, cfg, b.large) })
		b.settle(ctx, all, "overwrite")
	}
	// The end: every server deletes what is left, and RSS is read once
	// more, with every server holding no blob.
	for _, s := range noFloor {
		if err := deleteContainer(ctx, s, benchContainer); err != nil {
			return err
		}
	}
	b.settle(ctx, all, "end")
	b.rep.Notes = append(b.rep.Notes, rssRule)
	return ctx.Err()
}

// phase runs f on each server in turn and records what it cost.
func (b *bench) phase(ctx context.Context, servers []*server, name, group string, clients int, perMiB bool, f func(*server) outcome) {
	b.phaseRounds(ctx, servers, name, group, clients, perMiB, 1, f)
}

// phaseRounds runs f rounds times on each server, the servers in turn, and
// each round starts one server further on. So no server always runs right
// after the same other one, and a slow moment of a shared machine spreads
// over all of them rather than landing on whichever ran then. A server's
// figures are the sums of its rounds.
func (b *bench) phaseRounds(ctx context.Context, servers []*server, name, group string, clients int, perMiB bool, rounds int, f func(*server) outcome) {
	type sums struct {
		o             outcome
		el, srv, self time.Duration
		peak, flt     int64
	}
	acc := make([]sums, len(servers))
	for r := range rounds {
		for i := range servers {
			k := (i + r) % len(servers)
			s := servers[k]
			if ctx.Err() != nil {
				return
			}
			runtime.GC()
			s.resetPeak()
			self0, _ := readStat(os.Getpid())
			srv0, _ := readStat(s.pid())
			t0 := time.Now()
			o := f(s)
			el := time.Since(t0)
			srv1, _ := readStat(s.pid())
			self1, _ := readStat(os.Getpid())
			if rss, _, err := readMem(s.pid()); err == nil && rss > s.peak.Load() {
				s.peak.Store(rss)
			}
			a := &acc[k]
			a.o.merge(&o)
			a.el += el
			a.srv += srv1.cpu - srv0.cpu
			a.flt += srv1.minflt - srv0.minflt
			a.self += self1.cpu - self0.cpu
			a.peak = max(a.peak, s.peak.Load())
		}
	}
	for k, s := range servers {
		a := &acc[k]
		o, el := a.o, a.el
		slices.Sort(o.lat)
		p := PhaseResult{
			Phase: name, Group: group, Server: s.name, Clients: clients,
			Ops: o.ops, Items: o.items, Bytes: o.bytes, Errors: o.errs,
			Seconds:   el.Seconds(),
			P50MS:     percentile(o.lat, 0.50),
			P99MS:     percentile(o.lat, 0.99),
			ServerCPU: a.srv.Seconds(),
			Faults:    a.flt,
			ClientCPU: a.self.Seconds(),
			PeakRSSMB: mb(a.peak),
		}
		if o.firstErr != nil {
			p.FirstError = o.firstErr.Error()
		}
		if el > 0 {
			p.OpsPerSec = float64(o.ops) / el.Seconds()
		}
		if o.ops > 0 {
			p.CPUPerOp = p.ServerCPU * 1000 / float64(o.ops)
			p.ClientOp = p.ClientCPU * 1000 / float64(o.ops)
			p.FaultsPerOp = float64(a.flt) / float64(o.ops)
		}
		if perMiB && o.bytes > 0 {
			p.MiBPerSec = mb(o.bytes) / el.Seconds()
			p.CPUPerMiB = p.ServerCPU * 1000 / mb(o.bytes)
			p.ClientMiB = p.ClientCPU * 1000 / mb(o.bytes)
			p.FaultsPerMiB = float64(a.flt) / mb(o.bytes)
		}
		b.rep.Phases = append(b.rep.Phases, p)
		line := fmt.Sprintf("%-16s %-11s %7d ops %8.1f ops/s  server CPU %.3f ms/op", name, s.name, p.Ops, p.OpsPerSec, p.CPUPerOp)
		if perMiB {
			line += fmt.Sprintf("  %.1f MiB/s  %.2f ms/MiB", p.MiBPerSec, p.CPUPerMiB)
		}
		line += fmt.Sprintf("  peak %.0f MB", p.PeakRSSMB)
		if o.errs > 0 {
			line += fmt.Sprintf("  %d ERRORS: %v", o.errs, o.firstErr)
		}
		b.logf("%s", line)
	}
}

// rssRule is how RSS after a group is read, printed with every report.
const rssRule = "RSS after a group of phases is read with every server holding the same blobs (a container some server was not filled with is deleted first); each group then deletes what it wrote, so a group's peak is its own work, and the last reading (the workload's verdict) is taken once everything is deleted."

// settle waits Settle and records each server's RSS for the group.
func (b *bench) settle(ctx context.Context, servers []*server, group string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(b.cfg.Settle):
	}
	for _, s := range servers {
		rss, _, err := readMem(s.pid())
		if err != nil {
			continue
		}
		b.result(s.name).RSSAfter[group] = mb(rss)
		for i := range b.rep.Phases {
			if p := &b.rep.Phases[i]; p.Server == s.name && p.Group == group {
				p.RSSAfterMB = mb(rss)
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// machine describes this machine from /proc.
func machine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(),
		Kernel: readTrim("/proc/sys/kernel/osrelease"), LoadAvgStart: readTrim("/proc/loadavg")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				m.MemTotalMB = kb >> 10
			}
		}
	}
	return m
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func commandOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
