package emubench

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"
)

// Azurite modes for [Config.Azurite].
const (
	AzuriteDisk   = "disk"   // disk persistence in a temporary workspace (the default)
	AzuriteMemory = "memory" // --inMemoryPersistence
	AzuriteBoth   = "both"   // one instance of each
	AzuriteOff    = "off"    // geoblob and the floor only
)

// Server names used in reports.
const (
	Geoblob      = "geoblob"      // geoblob serve, in memory
	GeoblobDisk  = "geoblob-disk" // geoblob serve --data-dir in a temporary directory
	AzuriteName  = "azurite"      // Azurite with disk persistence
	AzuriteMemNm = "azurite-mem"  // Azurite in memory
	Floor        = "floor"
)

// ErrConfig is wrapped by the error of [Config.Validate].
var ErrConfig = errors.New("emubench: invalid configuration")

// Commands build the server processes. The port is a free loopback port
// the server must listen on, at 127.0.0.1.
type Commands struct {
	// Geoblob runs the geoblob emulator (`geoblob serve`) with the given
	// replication lag, serving the development account; in memory when
	// dataDir is empty, else with --data-dir dataDir.
	Geoblob func(port int, lag time.Duration, dataDir string) *exec.Cmd
	// Floor runs [ServeFloor] with the small and large payload sizes.
	Floor func(port int, small, large int64) *exec.Cmd
}

// Config sizes the workload. The zero value is not usable; start from
// [DefaultConfig] or [SmokeConfig].
type Config struct {
	Clients        []int         `json:"clients"`           // concurrency levels of the small GET and PUT phases
	SmallSize      int64         `json:"small_size"`        // bytes per small blob
	SmallBlobs     int           `json:"small_blobs"`       // distinct small blob names read and overwritten
	SmallDuration  time.Duration `json:"small_duration_ns"` // time bound of each small phase
	SmallMaxOps    int           `json:"small_max_ops"`     // count bound of each small phase
	SmallRounds    int           `json:"small_rounds"`      // rounds each small phase is split into, servers in turn, each round starting with the next server
	LargeSize      int64         `json:"large_size"`        // bytes of the large blob
	LargeBlock     int64         `json:"large_block"`       // block and range size of large transfers
	LargeConc      int           `json:"large_conc"`        // parallel requests of large transfers
	LargeReps      int           `json:"large_reps"`        // repetitions of each large phase
	ListSizes      []int         `json:"list_sizes"`        // blobs per listed container; empty skips listing
	ListDirs       int           `json:"list_dirs"`         // top-level virtual directories of listed containers
	AzuriteListMax int           `json:"azurite_list_max"`  // larger listed containers skip Azurite; 0: no cap
	ListBudget     time.Duration `json:"list_budget_ns"`    // listings repeat until this much time has passed...
	ListMaxReps    int           `json:"list_max_reps"`     // ...or this many listings were made (at least one)
	FillConc       int           `json:"fill_conc"`         // parallel uploads filling listed containers
	Overwrites     int           `json:"overwrites"`        // overwrites of the large blob with the lag on; 0 skips
	Lag            time.Duration `json:"lag_ns"`            // geoblob's replication lag
	Settle         time.Duration `json:"settle_ns"`         // wait before reading RSS after a group of phases
	Azurite        string        `json:"azurite"`           // one of the Azurite modes
	AzuriteDir     string        `json:"-"`                 // npm cache directory of Azurite
	StartTimeout   time.Duration `json:"start_timeout_ns"`  // longest wait for a server's first answer
	Commands       Commands      `json:"-"`
	Log            io.Writer     `json:"-"`               // progress; discarded when nil
	Smoke          bool          `json:"smoke,omitempty"` // set by SmokeConfig
	// GeoblobDisk also benches geoblob with a data directory (server
	// GeoblobDisk), in a temporary directory removed afterwards.
	GeoblobDisk bool `json:"geoblob_disk,omitempty"`
}

// DefaultConfig is the workload of issue 14, sized to finish in under five
// minutes on a small machine (Azurite's fill of the 100k-blob container
// dominates).
func DefaultConfig() Config {
	return Config{
		Clients:       []int{1, 16, 64},
		SmallSize:     4 << 10,
		SmallBlobs:    256,
		SmallDuration: 2 * time.Second,
		SmallMaxOps:   200_000,
		SmallRounds:   4,
		LargeSize:     64 << 20,
		LargeBlock:    4 << 20,
		LargeConc:     4,
		LargeReps:     3,
		ListSizes:     []int{1_000, 10_000, 100_000},
		ListDirs:      100,
		// Azurite fills a container at a few hundred blobs a second
		// here, so 100k blobs alone would take minutes: by default it is
		// listed up to 10k and geoblob alone at 100k.
		AzuriteListMax: 10_000,
		ListBudget:     time.Second,
		ListMaxReps:    500,
		FillConc:       64,
		Overwrites:     10,
		Lag:            time.Second,
		Settle:         2 * time.Second,
		Azurite:        AzuriteDisk,
		AzuriteDir:     DefaultAzuriteDir(),
		StartTimeout:   60 * time.Second,
		GeoblobDisk:    true,
	}
}

// SmokeConfig is a seconds-long run with small sizes and exact counts,
// against geoblob and the floor only: for CI, where only correctness of the
// harness is checked, never speed.
func SmokeConfig() Config {
	c := DefaultConfig()
	c.Clients = []int{1, 4}
	c.SmallBlobs = 8
	c.SmallDuration = time.Minute // the count bound ends the phase
	c.SmallMaxOps = 40
	c.SmallRounds = 2
	c.LargeSize = 1 << 20
	c.LargeBlock = 256 << 10
	c.LargeReps = 2
	c.ListSizes = []int{50, 200}
	c.ListDirs = 10
	c.ListBudget = 0
	c.ListMaxReps = 1
	c.FillConc = 8
	c.Overwrites = 3
	c.Lag = 200 * time.Millisecond
	c.Settle = 100 * time.Millisecond
	c.Azurite = AzuriteOff
	c.StartTimeout = 30 * time.Second
	c.Smoke = true
	c.GeoblobDisk = false
	return c
}

// Validate reports the first problem with c.
func (c *Config) Validate() error {
	switch {
	case len(c.Clients) == 0:
		return fmt.Errorf("%w: no client counts", ErrConfig)
	case c.SmallSize <= 0 || c.SmallBlobs <= 0 || c.SmallMaxOps <= 0 || c.SmallRounds <= 0:
		return fmt.Errorf("%w: small size, blob count, op count and rounds must be positive", ErrConfig)
	case c.LargeSize <= 0 || c.LargeBlock <= 0 || c.LargeConc <= 0 || c.LargeReps <= 0:
		return fmt.Errorf("%w: large size, block, concurrency and repetitions must be positive", ErrConfig)
	case c.ListDirs <= 0 || c.ListMaxReps <= 0 || c.FillConc <= 0 || c.AzuriteListMax < 0:
		return fmt.Errorf("%w: list directories, repetitions and fill concurrency must be positive", ErrConfig)
	case c.Overwrites < 0 || c.Lag < 0 || c.Settle < 0 || c.StartTimeout <= 0:
		return fmt.Errorf("%w: negative overwrites, lag or settle time", ErrConfig)
	case c.Commands.Geoblob == nil:
		return fmt.Errorf("%w: no command for geoblob", ErrConfig)
	}
	for _, n := range c.Clients {
		if n <= 0 || n > 1024 {
			return fmt.Errorf("%w: client count %d outside 1..1024", ErrConfig, n)
		}
	}
	for _, n := range c.ListSizes {
		if n <= 0 || n > 10_000_000 {
			return fmt.Errorf("%w: list size %d outside 1..10000000", ErrConfig, n)
		}
	}
	switch c.Azurite {
	case AzuriteDisk, AzuriteMemory, AzuriteBoth, AzuriteOff:
	default:
		return fmt.Errorf("%w: azurite mode %q is none of disk, memory, both, off", ErrConfig, c.Azurite)
	}
	return nil
}
