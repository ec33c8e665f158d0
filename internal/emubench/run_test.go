package emubench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/internal/emubench"
)

// The test binary doubles as the server processes of the smoke run: with
// childEnv set it serves instead of testing.
const childEnv = "GEOBLOB_EMUBENCH_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(child(role, os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

// child serves as geoblob (the emulator, as `geoblob serve` runs it) or as
// the floor until SIGTERM. arg is "PORT,LAG" or "PORT,SMALL,LARGE".
func child(role, arg string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	f := strings.Split(arg, ",")
	port, _ := strconv.Atoi(f[0])
	switch role {
	case "geoblob":
		lag, _ := time.ParseDuration(f[1])
		emu, err := emulator.Start(ctx, emulator.Options{Port: port, NoSecondaryListener: true, Lag: lag, DataDir: f[2]})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		<-ctx.Done()
		_ = emu.Close()
		return 0
	case "floor":
		small, _ := strconv.ParseInt(f[1], 10, 64)
		large, _ := strconv.ParseInt(f[2], 10, 64)
		if err := emubench.ServeFloor(ctx, "127.0.0.1:"+f[0], small, large, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	return 2
}

func selfCmd(role, arg string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$", arg)
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	return cmd
}

func smokeConfig() emubench.Config {
	cfg := emubench.SmokeConfig()
	cfg.GeoblobDisk = true // the harness's data-dir server is tested too
	cfg.Commands = emubench.Commands{
		Geoblob: func(port int, lag time.Duration, dataDir string) *exec.Cmd {
			return selfCmd("geoblob", fmt.Sprintf("%d,%s,%s", port, lag, dataDir))
		},
		Floor: func(port int, small, large int64) *exec.Cmd {
			return selfCmd("floor", fmt.Sprintf("%d,%d,%d", port, small, large))
		},
	}
	return cfg
}

// TestRunSmoke runs the smoke workload and checks only what does not depend
// on the machine: every phase ran on the right servers with the configured
// counts and no errors, and the outputs are well formed.
func TestRunSmoke(t *testing.T) {
	cfg := smokeConfig()
	rep, err := emubench.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		ops, items int
		servers    []string
	}
	both := []string{emubench.Geoblob, emubench.GeoblobDisk, emubench.Floor}
	geo := []string{emubench.Geoblob, emubench.GeoblobDisk}
	wants := map[string]want{}
	for _, c := range cfg.Clients {
		wants[fmt.Sprintf("small-get-c%d", c)] = want{cfg.SmallMaxOps, 0, both}
		wants[fmt.Sprintf("small-put-c%d", c)] = want{cfg.SmallMaxOps, 0, both}
	}
	for _, p := range []string{"upload-azblob", "download-azblob", "upload-raw", "download-raw"} {
		wants[p] = want{cfg.LargeReps, 0, both}
	}
	for _, n := range cfg.ListSizes {
		wants[fmt.Sprintf("list-fill-%d", n)] = want{n, 0, geo}
		wants[fmt.Sprintf("list-flat-%d", n)] = want{cfg.ListMaxReps, n * cfg.ListMaxReps, geo}
		wants[fmt.Sprintf("list-delim-%d", n)] = want{cfg.ListMaxReps, min(n, cfg.ListDirs) * cfg.ListMaxReps, geo}
	}
	wants["overwrite"] = want{cfg.Overwrites, 0, both}

	seen := map[string][]string{}
	for _, p := range rep.Phases {
		w, ok := wants[p.Phase]
		if !ok {
			t.Errorf("unexpected phase %s on %s", p.Phase, p.Server)
			continue
		}
		seen[p.Phase] = append(seen[p.Phase], p.Server)
		if p.Errors != 0 {
			t.Errorf("%s on %s: %d errors, first: %s", p.Phase, p.Server, p.Errors, p.FirstError)
		}
		if p.Ops != w.ops {
			t.Errorf("%s on %s: %d ops, want %d", p.Phase, p.Server, p.Ops, w.ops)
		}
		if p.Items != w.items {
			t.Errorf("%s on %s: %d items, want %d", p.Phase, p.Server, p.Items, w.items)
		}
		if p.Group == "large" || p.Group == "overwrite" {
			if want := int64(p.Ops) * cfg.LargeSize; p.Bytes != want {
				t.Errorf("%s on %s: %d bytes, want %d", p.Phase, p.Server, p.Bytes, want)
			}
		}
		if p.PeakRSSMB <= 0 {
			t.Errorf("%s on %s: no peak RSS", p.Phase, p.Server)
		}
	}
	for name, w := range wants {
		if got := strings.Join(seen[name], ","); got != strings.Join(w.servers, ",") {
			t.Errorf("phase %s ran on [%s], want [%s]", name, got, strings.Join(w.servers, ","))
		}
	}
	for _, s := range rep.Servers {
		if s.StartupMS <= 0 || s.Error != "" {
			t.Errorf("server %s: startup %v ms, error %q", s.Name, s.StartupMS, s.Error)
		}
		for _, g := range []string{"small", "large", "list", "overwrite", "end"} {
			if s.RSSAfter[g] <= 0 {
				t.Errorf("server %s: no RSS after the %s phases", s.Name, g)
			}
		}
	}
	if len(rep.Verdicts) != 13 {
		t.Errorf("%d verdicts, want 13", len(rep.Verdicts))
	}
	for _, v := range rep.Verdicts {
		if v.Status != emubench.Pass && v.Status != emubench.Fail && v.Status != emubench.NA {
			t.Errorf("verdict %q: status %q", v.Target, v.Status)
		}
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back emubench.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not read back: %v", err)
	}
	if len(back.Phases) != len(rep.Phases) || len(back.Rows) != len(rep.Rows) {
		t.Errorf("JSON round trip: %d phases, %d rows; want %d, %d", len(back.Phases), len(back.Rows), len(rep.Phases), len(rep.Rows))
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, row := range rep.Rows {
		if !strings.Contains(table.String(), row.Metric) {
			t.Errorf("table lacks row %q", row.Metric)
		}
	}
	var svg bytes.Buffer
	if err := rep.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := wellFormedXML(svg.Bytes()); err != nil {
		t.Errorf("SVG: %v", err)
	}
}
