package emubench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// AzuriteVersion is the Azurite release the harness installs and compares
// against.
const AzuriteVersion = "3.35.0"

// ErrNoAzurite is wrapped by the error of [EnsureAzurite] when Azurite
// cannot be installed or found: no node or npm, or no registry access.
var ErrNoAzurite = errors.New("emubench: Azurite unavailable")

// DefaultAzuriteDir is where Azurite is installed when no directory is
// given: geoblob/azurite under the user cache directory ($XDG_CACHE_HOME or
// ~/.cache on Linux).
func DefaultAzuriteDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "geoblob", "azurite")
}

// Azurite is an installed Azurite package.
type Azurite struct {
	Node    string // path of the node executable
	BlobJS  string // the azurite-blob entry point
	Version string
}

// EnsureAzurite installs Azurite version into dir with npm unless it is
// already there, and returns how to run it. Progress goes to log.
func EnsureAzurite(ctx context.Context, dir, version string, log io.Writer) (*Azurite, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not installed: %w", ErrNoAzurite, err)
	}
	if a, err := installedAzurite(dir, version); err == nil {
		a.Node = node
		return a, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, fmt.Errorf("%w: npm is not installed: %w", ErrNoAzurite, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoAzurite, err)
	}
	fmt.Fprintf(log, "installing azurite@%s into %s with npm (once)...\n", version, dir)
	ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error", "azurite@"+version)
	out := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: npm install azurite@%s: %w: %s", ErrNoAzurite, version, err, strings.TrimSpace(out.String()))
	}
	a, err := installedAzurite(dir, version)
	if err != nil {
		return nil, err
	}
	a.Node = node
	return a, nil
}

// installedAzurite finds Azurite version under dir.
func installedAzurite(dir, version string) (*Azurite, error) {
	pkgDir := filepath.Join(dir, "node_modules", "azurite")
	b, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoAzurite, err)
	}
	var pkg struct {
		Version string            `json:"version"`
		Bin     map[string]string `json:"bin"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoAzurite, pkgDir, err)
	}
	if pkg.Version != version {
		return nil, fmt.Errorf("%w: %s holds version %s, not %s", ErrNoAzurite, pkgDir, pkg.Version, version)
	}
	entry := pkg.Bin["azurite-blob"]
	if entry == "" {
		return nil, fmt.Errorf("%w: %s has no azurite-blob entry point", ErrNoAzurite, pkgDir)
	}
	js := filepath.Join(pkgDir, filepath.FromSlash(entry))
	if _, err := os.Stat(js); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoAzurite, err)
	}
	return &Azurite{BlobJS: js, Version: pkg.Version}, nil
}

// command returns the command that runs Azurite's blob service on
// 127.0.0.1:port with its workspace in location, in memory when inMemory.
func (a *Azurite) command(port int, location string, inMemory bool) *exec.Cmd {
	args := []string{a.BlobJS,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--silent", "--skipApiVersionCheck", "--disableTelemetry"}
	// Azurite refuses --location together with --inMemoryPersistence; in
	// memory it still runs in location, so stray files land there.
	if inMemory {
		args = append(args, "--inMemoryPersistence")
	} else {
		args = append(args, "--location", location)
	}
	cmd := exec.Command(a.Node, args...)
	cmd.Dir = location
	return cmd
}
