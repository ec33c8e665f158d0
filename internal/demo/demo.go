package demo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/google/uuid"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/dashboard"
)

// Sentinel errors for the ways a demo cannot get going. The command exits
// with status 2 for each of them.
var (
	ErrUnreachable       = errors.New("storage endpoint unreachable")
	ErrCredentials       = errors.New("the storage account rejected the credentials")
	ErrNotGeoRedundant   = errors.New("the account's secondary endpoint cannot be read; enable RA-GRS or RA-GZRS on the account")
	ErrNotReplicated     = errors.New("the blob did not replicate to the secondary in time")
	ErrBadConfig         = errors.New("invalid demo configuration")
	ErrInteractiveNoTerm = errors.New("--interactive needs input to read from")
)

// BlobName is the demo blob's name, as in the original sample.
const BlobName = "HelloWorld.png"

// Config configures a demo run. DefaultConfig gives the original sample's
// behaviour on the embedded emulator.
type Config struct {
	Reads              int           // downloads to make; 1000
	Outages            Outages       // scripted outages by read index
	Interactive        bool          // pause at 200/400/600/800 and toggle the outage on Enter
	RetryThreshold     int           // consecutive primary failures that move reads to the secondary; 5
	SecondaryThreshold int           // secondary reads before the primary is probed again; 20
	ConnectionString   string        // a real account; empty means environment or embedded emulator
	AccountName        string        // a real account by name and key (the original's accountname/accountkey)
	AccountKey         string        //
	OutDir             string        // where HelloWorldCopy.png goes; a temp directory when empty
	Quiet              bool          // print only the summary
	Lag                time.Duration // replication lag of the embedded emulator; 1s
	CheckInterval      time.Duration // between checks for replication; 1s
	CheckAttempts      int           // checks for replication; 60
	// Dashboard serves the embedded emulator's live dashboard, prints its
	// URL and feeds it every read and breaker transition.
	Dashboard bool
	// Pace is a pause between reads, so that a person can watch them.
	Pace time.Duration
	// Bootstrap is how long the failover scenario's new secondary
	// bootstraps; 2s when 0.
	Bootstrap time.Duration
	// Linger, when set, is called after the reads, before the embedded
	// emulator stops: --dashboard keeps the page up until Ctrl-C.
	Linger func(ctx context.Context)

	Stdout io.Writer
	Stdin  io.Reader
	Logger *slog.Logger

	// Test hooks: started sees the embedded emulator once it runs, and
	// checked runs after each failed check for replication, with its
	// number. Tests use them to decide when the blob replicates instead
	// of racing the lag.
	started func(*emulator.Emulator)
	checked func(attempt int)
	// attemptTimeout, when set, replaces the library's adaptive attempt
	// bound: the tests' outages are all 503s, and a healthy read slowed
	// past the bound by a loaded machine must not be served by the
	// secondary.
	attemptTimeout time.Duration
}

// DefaultConfig returns the original sample's settings.
func DefaultConfig() Config {
	o, _ := ParseOutages(DefaultOutages, 1000)
	return Config{
		Reads:              1000,
		Outages:            o,
		RetryThreshold:     5,
		SecondaryThreshold: 20,
		Lag:                time.Second,
		CheckInterval:      time.Second,
		CheckAttempts:      60,
	}
}

// ConfigFromEnv fills the account settings from the environment the way the
// original did: accountname and accountkey, or AZURE_STORAGE_CONNECTION_STRING.
// Values already set in c win.
func (c *Config) ConfigFromEnv(getenv func(string) string) {
	if c.ConnectionString != "" || c.AccountName != "" {
		return
	}
	if cs := getenv("AZURE_STORAGE_CONNECTION_STRING"); cs != "" {
		c.ConnectionString = cs
		return
	}
	c.AccountName, c.AccountKey = getenv("accountname"), getenv("accountkey")
}

func (c *Config) validate() error {
	switch {
	case c.Reads < 1:
		return fmt.Errorf("%w: reads must be at least 1", ErrBadConfig)
	case c.Quiet && c.Interactive:
		return fmt.Errorf("%w: --quiet would hide the prompts --interactive waits on; use one or the other", ErrBadConfig)
	case c.RetryThreshold < 1:
		return fmt.Errorf("%w: --retry-threshold must be at least 1", ErrBadConfig)
	case c.SecondaryThreshold < 1:
		return fmt.Errorf("%w: --secondary-threshold must be at least 1", ErrBadConfig)
	case (c.AccountName == "") != (c.AccountKey == ""):
		return fmt.Errorf("%w: set both accountname and accountkey", ErrBadConfig)
	case c.Dashboard && (c.ConnectionString != "" || c.AccountName != ""):
		return fmt.Errorf("%w: --dashboard needs the embedded emulator; it cannot watch a real account", ErrBadConfig)
	case c.Pace < 0:
		return fmt.Errorf("%w: --pace must not be negative", ErrBadConfig)
	case c.Lag < 0 || c.CheckInterval <= 0 || c.CheckAttempts < 1:
		return fmt.Errorf("%w: lag, check interval and attempts must be positive", ErrBadConfig)
	}
	for _, o := range c.Outages {
		if o.To > c.Reads {
			return fmt.Errorf("%w: outage %d-%d ends after the last read %d", ErrBadConfig, o.From, o.To, c.Reads)
		}
	}
	return nil
}

// Summary is the outcome of a run.
type Summary struct {
	Reads, Primary, Secondary, Failed int
	Failovers, Failbacks              int
	Elapsed                           time.Duration
	// Locations has one byte per read: 'P', 'S' or 'F' (failed).
	Locations []byte
	// CopyPath is where the verified copy of the blob was written.
	CopyPath string
	// Embedded is true when the run used the in-process emulator.
	Embedded bool
}

// String is the demo's last line.
func (s Summary) String() string {
	return fmt.Sprintf("reads: %d primary: %d secondary: %d failed: %d failovers: %d failbacks: %d elapsed: %s",
		s.Reads, s.Primary, s.Secondary, s.Failed, s.Failovers, s.Failbacks, s.Elapsed.Round(time.Millisecond))
}

// ruleOutage switches the outage by adding and removing a fault rule: in the
// embedded emulator's rule set (server-side), or in the rule set of the
// client's fault.Transport for a real account, where the failing request
// never leaves the machine, as with the original's Fiddler rule.
type ruleOutage struct {
	faults    *fault.Set
	container string
	id        string
}

func (o *ruleOutage) set(on bool) error {
	if !on {
		if o.id == "" {
			return nil
		}
		err := o.faults.Remove(o.id)
		o.id = ""
		return err
	}
	id, err := o.faults.Add(outageRule(o.container))
	o.id = id
	return err
}

func outageRule(container string) fault.Rule {
	return fault.Rule{
		Endpoint: fault.Primary,
		Match:    fault.Match{Op: fault.Read, Container: container, Blob: BlobName},
		Action:   fault.Action{Status: http.StatusServiceUnavailable, Code: "ServerBusy", Message: "Simulated regional outage of the primary (geoblob demo)."},
	}
}

// Run runs the demo and returns its summary. The error is non-nil when the
// demo could not run (see the sentinel errors) or was interrupted; failed
// reads are reported in the summary, not as an error.
func Run(ctx context.Context, cfg Config) (sum Summary, err error) {
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stdin == nil {
		cfg.Stdin = os.Stdin
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	p := newPrinter(cfg.Stdout, cfg.Quiet)
	start := time.Now()
	var router *geoblob.Router
	var elapsed time.Duration // set when the reads are done, before a linger
	// Every way out, interruptions included, reports the time taken and
	// the breaker's transitions so far.
	defer func() {
		if router != nil {
			c := router.Counters()
			sum.Failovers, sum.Failbacks = int(c.Failovers), int(c.Failbacks)
		}
		if elapsed == 0 {
			elapsed = time.Since(start)
		}
		sum.Elapsed = elapsed
	}()

	transportRules := fault.NewSet()
	defer transportRules.Close()
	var (
		connStr string
		emu     *emulator.Emulator
	)
	switch {
	case cfg.ConnectionString != "":
		connStr = cfg.ConnectionString
	case cfg.AccountName != "":
		connStr = fmt.Sprintf("DefaultEndpointsProtocol=https;AccountName=%s;AccountKey=%s;EndpointSuffix=core.windows.net", cfg.AccountName, cfg.AccountKey)
	default:
		var err error
		emu, err = emulator.Start(ctx, emulator.Options{Lag: cfg.Lag, Logger: cfg.Logger})
		if err != nil {
			return sum, fmt.Errorf("starting the embedded emulator: %w", err)
		}
		defer emu.Close()
		if cfg.started != nil {
			cfg.started(emu)
		}
		connStr = emu.ConnectionString()
		sum.Embedded = true
		p.line(colorCyan, "Started the embedded geo-redundant emulator (replication lag %v).", cfg.Lag)
		p.line("", "  primary:   %s", emu.PrimaryURL())
		p.line("", "  secondary: %s", emu.SecondaryURL())
		if cfg.Dashboard {
			p.final("Dashboard: %s", emu.DashboardURL())
		}
	}
	var feed *dashboard.Hub
	if cfg.Dashboard && emu != nil {
		feed = emu.Dashboard()
	}

	bcfg := geoblob.DefaultConfig()
	bcfg.FailureThreshold = cfg.RetryThreshold
	bcfg.FailbackReads = cfg.SecondaryThreshold
	// Like the original: after every SecondaryThreshold secondary reads,
	// try the primary again, without backing off while it stays down.
	bcfg.ProbeBackoff, bcfg.MaxProbeBackoff = 1, 1
	bcfg.Logger = cfg.Logger
	if cfg.attemptTimeout != 0 {
		bcfg.AttemptTimeout = cfg.attemptTimeout
	}
	bcfg.OnRetry = func(ev geoblob.RetryEvent) {
		if ev.Probe {
			p.line(colorYellow, "Probe of the primary failed (%s); reads stay on the secondary.", failure(ev))
			return
		}
		p.line(colorYellow, "Retrying event because of failure reading the primary. RetryCount= %d", ev.Count)
	}
	bcfg.OnStateChange = func(ev geoblob.StateChange) {
		if ev.From != ev.To {
			p.line(colorCyan, "Circuit %s -> %s: %s", ev.From, ev.To, ev.Reason)
		}
	}
	if feed != nil {
		feed.ObserveBreaker(bcfg)
	}
	opts := &azblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond, TryTimeout: 30 * time.Second}
	tr := &fault.Transport{Rules: transportRules}
	if emu == nil {
		// A real account: the outage is injected in our own transport.
		opts.Transport = &http.Client{Transport: tr}
	}
	client, router, err := geoblob.NewClientFromConnectionString(connStr, bcfg, opts)
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	// The transport recognises <account>-secondary hosts and paths by
	// itself; a secondary on a host of its own (BlobSecondaryEndpoint) is
	// named explicitly, before the first request.
	if ph, sh := hostOf(router.PrimaryURL()), hostOf(router.SecondaryURL()); sh != "" && sh != ph {
		tr.SecondaryHosts = []string{sh}
	}
	if feed != nil {
		feed.ObserveRouter(router)
	}
	if !cfg.Quiet && emu == nil {
		p.line(colorCyan, "Using the storage account at %s (secondary %s).", router.PrimaryURL(), router.SecondaryURL())
	}

	containerName := "democontainer" + strings.ReplaceAll(uuid.NewString(), "-", "")
	p.line("", "Creating container %s", containerName)
	if _, err := client.CreateContainer(ctx, containerName, nil); err != nil {
		return sum, classify(err)
	}
	// From here on the container exists: delete it on every way out, even
	// after Ctrl-C, with a context of its own.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		// The breaker may still hold the primary as down (Ctrl-C during an
		// outage) and would refuse the delete: it is a write, and writes
		// always go to the primary, so send it there.
		router.Force(geoblob.PrimaryOnly)
		if _, err := client.DeleteContainer(dctx, containerName, nil); err != nil {
			p.line(colorRed, "Could not delete container %s: %s", containerName, oneLine(err))
			return
		}
		p.line("", "Deleted container %s", containerName)
	}()

	image := HelloWorldPNG()
	p.line("", "Uploading %s (%d bytes)", BlobName, len(image))
	if _, err := client.UploadBuffer(ctx, containerName, BlobName, image, nil); err != nil {
		return sum, classify(err)
	}

	if err := waitForReplication(ctx, cfg, p, connStr, router.SecondaryURL(), containerName); err != nil {
		return sum, err
	}

	inj := &ruleOutage{faults: transportRules, container: containerName}
	if emu != nil {
		inj.faults = emu.Faults()
	}
	stdin := bufio.NewReader(cfg.Stdin)
	active := false
	toggle := func(on bool, i int) error {
		if err := inj.set(on); err != nil {
			return fmt.Errorf("injecting the outage: %w", err)
		}
		active = on
		if on {
			p.line(colorRed, "Read %d: outage begins: the primary now answers 503 to reads of %s.", i, BlobName)
		} else {
			p.line(colorGreen, "Read %d: outage ends: the primary is healthy again.", i)
		}
		return nil
	}
	defer func() { _ = inj.set(false) }()

	var last []byte
	for i := 0; i < cfg.Reads; i++ {
		if err := ctx.Err(); err != nil {
			break
		}
		if cfg.Interactive {
			if i > 0 && i%200 == 0 {
				what := "start"
				if active {
					what = "stop"
				}
				p.line(colorCyan, "Paused at read %d. Press Enter to %s the outage of the primary.", i, what)
				if _, err := readLine(ctx, stdin); err != nil {
					if ctx.Err() != nil {
						break
					}
					return sum, err
				}
				if err := toggle(!active, i); err != nil {
					return sum, err
				}
			}
		} else if want := cfg.Outages.Active(i); want != active {
			if err := toggle(want, i); err != nil {
				return sum, err
			}
		}

		fed := len(sum.Locations)
		var info geoblob.ReadInfo
		data, err := readBlob(geoblob.WithReadInfo(ctx, &info), client, containerName)
		sum.Reads++
		switch {
		case err == nil && bytes.Equal(data, image):
			last = data
			if info.Last().Location == geoblob.Secondary {
				sum.Secondary++
				sum.Locations = append(sum.Locations, 'S')
				p.token(fmt.Sprintf("S%d", i), colorYellow)
			} else {
				sum.Primary++
				sum.Locations = append(sum.Locations, 'P')
				p.token(fmt.Sprintf("P%d", i), colorGreen)
			}
		default:
			if ctx.Err() != nil {
				sum.Reads--
				break
			}
			if err == nil {
				err = errors.New("downloaded bytes differ from the uploaded image")
			}
			sum.Failed++
			sum.Locations = append(sum.Locations, 'F')
			p.token(fmt.Sprintf("F%d", i), colorRed)
			p.line(colorRed, "Read %d failed: %s", i, oneLine(err))
		}
		if feed != nil && len(sum.Locations) > fed {
			feed.ClientRead(sum.Locations[len(sum.Locations)-1])
		}
		if cfg.Pace > 0 && i+1 < cfg.Reads {
			select {
			case <-ctx.Done():
			case <-time.After(cfg.Pace):
			}
		}
	}
	if active {
		_ = toggle(false, sum.Reads)
	}

	if ctx.Err() == nil && last != nil {
		path, err := writeCopy(ctx, cfg, client, containerName, image)
		if err != nil {
			sum.Failed++
			p.line(colorRed, "Copy failed: %s", oneLine(err))
		} else {
			sum.CopyPath = path
			p.line("", "Wrote %s and verified its %d bytes against the original.", path, len(image))
		}
	}
	runErr := ctx.Err()
	if cfg.Linger != nil && runErr == nil {
		elapsed = time.Since(start)
		cfg.Linger(ctx)
	}
	return sum, runErr
}

// failure describes a failed primary read in a few words.
func failure(ev geoblob.RetryEvent) string {
	if ev.StatusCode != 0 {
		return fmt.Sprintf("status %d", ev.StatusCode)
	}
	if ev.Err != nil {
		return ev.Err.Error()
	}
	return "unknown error"
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func readBlob(ctx context.Context, client *azblob.Client, container string) ([]byte, error) {
	resp, err := client.DownloadStream(ctx, container, BlobName, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// waitForReplication checks the secondary once per interval until the blob
// is there, printing the original sample's message for every attempt. It
// asks the secondary directly, with a plain client, so that a fallback to
// the primary can never pass for replication.
func waitForReplication(ctx context.Context, cfg Config, p *printer, connStr, secondaryURL, container string) error {
	cs, err := geoblob.ParseConnectionString(connStr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	opts := &azblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: -1, TryTimeout: 30 * time.Second}
	var sec *azblob.Client
	if cs.AccountKey != "" {
		cred, err := azblob.NewSharedKeyCredential(cs.AccountName, cs.AccountKey)
		if err != nil {
			return fmt.Errorf("%w: account key: %w", ErrBadConfig, err)
		}
		sec, err = azblob.NewClientWithSharedKeyCredential(secondaryURL, cred, opts)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadConfig, err)
		}
	} else if sec, err = azblob.NewClientWithNoCredential(secondaryURL+"?"+cs.SAS, opts); err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	bc := sec.ServiceClient().NewContainerClient(container).NewBlobClient(BlobName)
	for n := 1; n <= cfg.CheckAttempts; n++ {
		_, err := bc.GetProperties(ctx, nil)
		if err == nil {
			p.line(colorGreen, "The blob has replicated to the secondary.")
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
			return fmt.Errorf("%w: %w", ErrNotGeoRedundant, classify(err))
		}
		p.line("", "Attempt %d to see if the blob has replicated to the secondary storage yet.", n)
		if cfg.checked != nil {
			cfg.checked(n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(cfg.CheckInterval):
		}
	}
	return fmt.Errorf("%w: still missing after %d checks", ErrNotReplicated, cfg.CheckAttempts)
}

// writeCopy downloads the blob to HelloWorldCopy.png and verifies it.
func writeCopy(ctx context.Context, cfg Config, client *azblob.Client, container string, want []byte) (string, error) {
	dir := cfg.OutDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "geoblob-demo-"); err != nil {
			return "", err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "HelloWorldCopy.png")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := client.DownloadFile(ctx, container, BlobName, f, nil); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	got, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(got, want) {
		return "", fmt.Errorf("%s differs from the uploaded image", path)
	}
	return path, nil
}

// readLine waits for a line on r, or for ctx to end.
func readLine(ctx context.Context, r *bufio.Reader) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := r.ReadString('\n')
		ch <- result{s, err}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case res := <-ch:
		if res.err != nil && res.s == "" {
			return "", fmt.Errorf("%w: %w", ErrInteractiveNoTerm, res.err)
		}
		return res.s, nil
	}
}

// classify turns a setup failure into one of the sentinel errors, keeping a
// short cause.
func classify(err error) error {
	var (
		re *azcore.ResponseError
		ne net.Error
		de *net.DNSError
		oe *net.OpError
	)
	switch {
	case errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized):
		return fmt.Errorf("%w (%d %s)", ErrCredentials, re.StatusCode, re.ErrorCode)
	case errors.As(err, &de):
		return fmt.Errorf("%w: cannot resolve %s", ErrUnreachable, de.Name)
	case errors.As(err, &oe):
		return fmt.Errorf("%w: %v", ErrUnreachable, oe)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: timed out", ErrUnreachable)
	case errors.Is(err, context.Canceled):
		return err
	}
	return &briefError{err}
}

// briefError shows an error in one line (the SDK's errors span a dozen,
// with the whole response) while errors.Is and errors.As still reach it.
type briefError struct{ err error }

func (e *briefError) Error() string { return oneLine(e.err) }
func (e *briefError) Unwrap() error { return e.err }

// oneLine describes err in a single line: the status and error code of
// each location that answered, else the first line of the message.
func oneLine(err error) string {
	var ge *geoblob.Error
	if errors.As(err, &ge) && ge.Kind != nil {
		var parts []string
		for _, c := range []struct {
			name string
			err  error
		}{{"primary", ge.Primary}, {"secondary", ge.Secondary}} {
			if c.err != nil {
				parts = append(parts, c.name+": "+cause(c.err))
			}
		}
		msg := strings.TrimPrefix(ge.Kind.Error(), "geoblob: ")
		if len(parts) == 0 {
			return msg
		}
		return msg + " (" + strings.Join(parts, "; ") + ")"
	}
	return cause(err)
}

// cause is the short form of one failure: "503 ServerBusy" for an HTTP
// answer, the transport error without the request URL otherwise.
func cause(err error) string {
	var (
		re *azcore.ResponseError
		ue *url.Error
	)
	switch {
	case errors.As(err, &re):
		if re.ErrorCode == "" {
			return fmt.Sprintf("status %d", re.StatusCode)
		}
		return fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
	case errors.As(err, &ue):
		err = ue.Err
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(first)
}
