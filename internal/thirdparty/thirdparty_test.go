//go:build thirdparty

package thirdparty_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/internal/emubench"
	"github.com/geoblob/geoblob/internal/thirdparty"
)

var (
	targetFlag = flag.String("thirdparty.target", "geoblob", "Blob service to run the suites against: geoblob or azurite")
	updateFlag = flag.Bool("thirdparty.update", false, "rewrite testdata/expect/SUITE.TARGET.txt from this run's failures")
	suitesFlag = flag.String("thirdparty.suites", "", "comma-separated suites to run (default all)")
	keepFlag   = flag.String("thirdparty.events", "", "directory to keep each run's go test -json stream in (default a temporary one)")
)

// TestThirdParty runs every third-party suite against the target and
// checks its failed cases are exactly the expected ones.
func TestThirdParty(t *testing.T) {
	ctx := context.Background()
	tgt := startTarget(ctx, t, *targetFlag)
	want := map[string]bool{}
	for _, s := range strings.Split(*suitesFlag, ",") {
		if s != "" {
			want[s] = true
		}
	}
	events := *keepFlag
	if events == "" {
		events = t.TempDir()
	}
	var summary []string
	for _, s := range thirdparty.Suites {
		if len(want) > 0 && !want[s.Name] {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			if err := s.Prepare(ctx, tgt); err != nil {
				t.Fatal(err)
			}
			res, err := s.Run(ctx, tgt, "testdata", t.TempDir(), filepath.Join(events, s.Name+"."+tgt.Name+".json"), testWriter{t})
			if err != nil {
				t.Fatal(err)
			}
			counts := res.Count()
			summary = append(summary, fmt.Sprintf("%s against %s: %s", s.Name, tgt.Name, counts))
			t.Logf("%s against %s: %s (leaf cases)", s.Name, tgt.Name, counts)
			for _, c := range res.Failed() {
				t.Logf("  failed: %s: %s", c.Name, thirdparty.Reason(c.Output))
			}
			if counts.Pass == 0 {
				t.Fatalf("no case passed: the suite did not reach %s; build output: %s", tgt.Name, res.BuildOutput)
			}
			path := filepath.Join("testdata", "expect", s.Name+"."+tgt.Name+".txt")
			exp, err := readExpectations(path)
			if err != nil {
				t.Fatal(err)
			}
			if *updateFlag {
				writeExpectations(t, path, s, tgt, thirdparty.Observed(res, exp))
				return
			}
			for _, m := range thirdparty.Compare(res, exp) {
				msg := m.String()
				if m.Kind == thirdparty.Regressed {
					msg += "\n" + indent(res.Cases[m.Case].Output, 4<<10)
				}
				t.Error(msg)
			}
		})
	}
	for _, l := range summary {
		t.Log(l)
	}
}

func readExpectations(path string) (thirdparty.Expectations, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return thirdparty.Expectations{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return thirdparty.ParseExpectations(f)
}

func writeExpectations(t *testing.T, path string, s thirdparty.Suite, tgt thirdparty.Target, exp thirdparty.Expectations) {
	t.Helper()
	header := fmt.Sprintf(`Cases of %s (%s) known to fail against %s, each with what
it needs that the target does not model. The harness fails when any other
case fails and when a listed case passes. Regenerate with
go test -tags thirdparty -run TestThirdParty/%s ./internal/thirdparty -thirdparty.target=%s -thirdparty.update
and check the reasons by hand.`, s.Name, s.Package, tgt.Name, s.Name, tgt.Name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := thirdparty.WriteExpectations(f, header, exp); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d cases)", path, len(exp))
}

func indent(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "…"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startTarget starts the Blob service the suites run against, on loopback,
// stopped when the test ends.
func startTarget(ctx context.Context, t *testing.T, name string) thirdparty.Target {
	t.Helper()
	switch name {
	case "geoblob":
		emu, err := emulator.Start(ctx, emulator.Options{NoSecondaryListener: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = emu.Close() })
		return thirdparty.Target{Name: "geoblob", ServiceURL: emu.PrimaryURL(), Account: emu.AccountName(), Key: emu.AccountKey()}
	case "azurite":
		return startAzurite(ctx, t)
	}
	t.Fatalf("unknown -thirdparty.target %q: want geoblob or azurite", name)
	return thirdparty.Target{}
}

// devAccount and devKey are the development storage account Azurite serves.
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startAzurite installs Azurite (cached, as the emulator bench does) and
// runs its blob service in memory on a free loopback port.
func startAzurite(ctx context.Context, t *testing.T) thirdparty.Target {
	t.Helper()
	az, err := emubench.EnsureAzurite(ctx, emubench.DefaultAzuriteDir(), emubench.AzuriteVersion, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(az.Node, az.BlobJS, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--silent", "--skipApiVersionCheck", "--disableTelemetry", "--inMemoryPersistence")
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	tgt := thirdparty.Target{Name: "azurite", ServiceURL: fmt.Sprintf("http://127.0.0.1:%d/%s", port, devAccount), Account: devAccount, Key: devKey}
	cred, err := azblob.NewSharedKeyCredential(devAccount, devKey)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(tgt.ServiceURL+"/", cred, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for Azurite to answer; bounded, polling a process we do not
	// control (there is no event to wait on).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ServiceClient().GetProperties(pctx, nil)
		cancel()
		if err == nil {
			return tgt
		}
		if time.Now().After(deadline) {
			t.Fatalf("Azurite gave no answer on %s: %v", tgt.ServiceURL, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
