package thirdparty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Target is a Blob service a suite runs against.
type Target struct {
	Name       string // "geoblob" or "azurite", names the expectation file
	ServiceURL string // the account's blob endpoint, path-style
	Account    string
	Key        string // base64 account key
}

// Suite is a third-party client's own test suite, pinned by a module under
// testdata/.
type Suite struct {
	Name    string // also the module's directory under testdata/
	Package string // the third-party package whose tests run
	// Container is created on the target before the run when set.
	Container string
	// Env returns the environment that points the suite at t; dir is a
	// scratch directory for configuration files.
	Env func(t Target, dir string) ([]string, error)
	// Timeout bounds one run of the suite's test binary.
	Timeout time.Duration
}

// Suites are the third-party suites the harness runs.
var Suites = []Suite{
	{
		// rclone's integration tests (fstests) on its azureblob backend,
		// run twice by the package: TestIntegration and, with directory
		// markers, TestIntegration2. They find the remote "TestAzureBlob"
		// in the config file RCLONE_CONFIG names.
		Name:    "rclone",
		Package: "github.com/rclone/rclone/backend/azureblob",
		Timeout: 40 * time.Minute,
		Env: func(t Target, dir string) ([]string, error) {
			conf := filepath.Join(dir, "rclone.conf")
			body := fmt.Sprintf("[TestAzureBlob]\ntype = azureblob\naccount = %s\nkey = %s\nendpoint = %s\n", t.Account, t.Key, t.ServiceURL)
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				return nil, fmt.Errorf("thirdparty: rclone config: %w", err)
			}
			return []string{"RCLONE_CONFIG=" + conf}, nil
		},
	},
	{
		// The Distribution registry's Azure storage driver: the generic
		// storage driver suite plus the driver's own tests, configured by
		// AZURE_* variables, on a container that must exist.
		Name:      "distribution",
		Package:   "github.com/distribution/distribution/v3/registry/storage/driver/azure",
		Container: "registry",
		Timeout:   30 * time.Minute,
		Env: func(t Target, dir string) ([]string, error) {
			return []string{
				"AZURE_STORAGE_CREDENTIALS_TYPE=shared_key",
				"AZURE_STORAGE_ACCOUNT_NAME=" + t.Account,
				"AZURE_STORAGE_ACCOUNT_KEY=" + t.Key,
				"AZURE_STORAGE_CONTAINER=registry",
				"AZURE_SERVICE_URL=" + t.ServiceURL,
			}, nil
		},
	},
}

// Prepare creates the suite's container on t, if it needs one and it is
// not there yet.
func (s Suite) Prepare(ctx context.Context, t Target) error {
	if s.Container == "" {
		return nil
	}
	cred, err := azblob.NewSharedKeyCredential(t.Account, t.Key)
	if err != nil {
		return fmt.Errorf("thirdparty: %s: %w", s.Name, err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(t.ServiceURL+"/", cred, nil)
	if err != nil {
		return fmt.Errorf("thirdparty: %s: %w", s.Name, err)
	}
	if _, err := client.CreateContainer(ctx, s.Container, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("thirdparty: %s: creating container %s: %w", s.Name, s.Container, err)
	}
	return nil
}

// Run runs the suite's tests against t with `go test -json` in the suite's
// module under moduleRoot (testdata/), writes the event stream to
// events (a file name, kept for reading), and parses it. A run whose cases
// fail is not an error; one that reports no case is.
func (s Suite) Run(ctx context.Context, t Target, moduleRoot, scratch, events string, progress io.Writer) (*Results, error) {
	env, err := s.Env(t, scratch)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(events)
	if err != nil {
		return nil, fmt.Errorf("thirdparty: %w", err)
	}
	defer f.Close()
	args := []string{"test", "-json", "-count=1", "-timeout", s.Timeout.String(), s.Package}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout+10*time.Minute) // building counts too
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join(moduleRoot, s.Name)
	// The suite's module stands alone: no workspace, and its go.sum must
	// already hold every module it needs.
	cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly"), env...)
	var stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(f, progressLines(progress))
	cmd.Stderr = &stderr
	started := time.Now()
	runErr := cmd.Run()
	fmt.Fprintf(progress, "%s against %s: go %s: %v (%s)\n", s.Name, t.Name, strings.Join(args, " "), runErr, time.Since(started).Round(time.Second))
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return nil, fmt.Errorf("thirdparty: %s: %w", s.Name, runErr)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("thirdparty: %w", err)
	}
	r, err := os.Open(events)
	if err != nil {
		return nil, fmt.Errorf("thirdparty: %w", err)
	}
	defer r.Close()
	res, err := Parse(r)
	if err != nil {
		return nil, fmt.Errorf("thirdparty: %s: %w; stderr: %s", s.Name, err, tail(stderr.String(), 4<<10))
	}
	return res, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// progressLines passes on one line for each top-level test that ends, so
// a long run shows signs of life without its full log.
func progressLines(w io.Writer) io.Writer {
	return &lineFilter{w: w}
}

type lineFilter struct {
	w   io.Writer
	buf []byte
}

func (l *lineFilter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		var ev struct {
			Action, Test string
			Elapsed      float64
		}
		if json.Unmarshal(l.buf[:i], &ev) == nil && ev.Test != "" && !strings.Contains(ev.Test, "/") &&
			(ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip") {
			fmt.Fprintf(l.w, "  %s: %s (%.1fs)\n", ev.Test, ev.Action, ev.Elapsed)
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 4<<20 { // one absurdly long line: drop it
		l.buf = l.buf[:0]
	}
	return len(p), nil
}
