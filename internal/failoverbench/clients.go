package failoverbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// The clients compared.
const (
	ClientGeoblob     = "geoblob"
	ClientAzblob      = "azblob"
	ClientAlternation = "alternation"
)

// AllClients lists the clients in report order.
var AllClients = []string{ClientGeoblob, ClientAzblob, ClientAlternation}

// endpoints is where the account lives.
type endpoints struct {
	primaryURL, secondaryURL string // service URLs, /ACCOUNT included
	account, key             string
}

// reader is one client under test.
type reader interface {
	// stream reads a whole blob with one Get Blob (DownloadStream),
	// through azblob's retry reader.
	stream(ctx context.Context, container, name string) ([]byte, error)
	// buffer reads a blob in ranged chunks (DownloadBuffer).
	buffer(ctx context.Context, container, name string, buf []byte, o *blob.DownloadBufferOptions) (int64, error)
}

// azblobReader reads through an *azblob.Client.
type azblobReader struct{ c *azblob.Client }

func (a *azblobReader) stream(ctx context.Context, container, name string) ([]byte, error) {
	resp, err := a.c.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return nil, err
	}
	// As azblob's examples do: a broken body is resumed where it broke
	// (3 times by default), with If-Match on the blob's ETag.
	body := resp.NewRetryReader(ctx, nil)
	defer body.Close()
	return io.ReadAll(body)
}

func (a *azblobReader) buffer(ctx context.Context, container, name string, buf []byte, o *blob.DownloadBufferOptions) (int64, error) {
	return a.c.DownloadBuffer(ctx, container, name, buf, o)
}

// clientOptions are the SDK's defaults but for the transport, which
// records the wire, and a retry delay a test set.
func clientOptions(tr policy.Transporter, retryDelay time.Duration) *azblob.ClientOptions {
	o := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: tr}}
	if retryDelay > 0 {
		o.Retry.RetryDelay, o.Retry.MaxRetryDelay = retryDelay, retryDelay
	}
	return o
}

// newClient builds the named client on transport tr.
func newClient(name string, ep endpoints, o *azblob.ClientOptions, transitions *atomic.Int64) (reader, error) {
	switch name {
	case ClientGeoblob:
		return newGeoblobClient(ep, o, transitions)
	case ClientAzblob, ClientAlternation:
		cred, err := azblob.NewSharedKeyCredential(ep.account, ep.key)
		if err != nil {
			return nil, err
		}
		if name == ClientAlternation {
			alt, err := newAlternation(ep.secondaryURL)
			if err != nil {
				return nil, err
			}
			o.PerCallPolicies = []policy.Policy{alt.perCall()}
			o.PerRetryPolicies = []policy.Policy{alt}
			o.Retry.ShouldRetry = alt.shouldRetry
		}
		c, err := azblob.NewClientWithSharedKeyCredential(ep.primaryURL, cred, o)
		if err != nil {
			return nil, err
		}
		return &azblobReader{c: c}, nil
	}
	return nil, fmt.Errorf("failoverbench: unknown client %q", name)
}

// newHTTPClient is a fresh connection pool per client, with the settings of
// the SDK's default transport.
func newHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// wireEvent is one request on the wire.
type wireEvent struct {
	at, end  time.Time
	method   string
	blob     bool   // a request for a blob (no restype): a read, chunk or resumption
	loc      string // primary or secondary
	status   int    // 0 when no response came
	bodyFail atomic.Bool
}

// served reports whether the request was answered with a success whose
// body arrived whole (as far as it was read).
func (e *wireEvent) served() bool {
	return e.status >= 200 && e.status < 300 && !e.bodyFail.Load()
}

// servedRead reports whether the request was a blob read (a GET of a
// blob: a whole read, a chunk or a resumption, not a service request such
// as Get Blob Service Stats or a background probe) that was served.
func (e *wireEvent) servedRead() bool {
	return e.method == "GET" && e.blob && e.served()
}

// maxWireEvents bounds the memory one run's wire log takes.
const maxWireEvents = 2_000_000

// wireLog records the wire requests of one client run.
type wireLog struct {
	mu      sync.Mutex
	events  []*wireEvent
	dropped int
}

func (l *wireLog) add(e *wireEvent) {
	l.mu.Lock()
	if len(l.events) < maxWireEvents {
		l.events = append(l.events, e)
	} else {
		l.dropped++
	}
	l.mu.Unlock()
}

func (l *wireLog) droppedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

func (l *wireLog) snapshot() []*wireEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*wireEvent(nil), l.events...)
}

// readTrace collects the wire requests made for one read.
type readTrace struct {
	mu     sync.Mutex
	events []*wireEvent
}

type traceKey struct{}

// wire is a policy.Transporter that records every request: where it went,
// its status and whether its body broke.
type wire struct {
	next          *http.Client
	log           *wireLog
	secondaryHost string // host:port of the distinct secondary listener
	secondaryPath string // /ACCOUNT-secondary, the path-style secondary
}

func newWire(ep endpoints, log *wireLog) (*wire, error) {
	u, err := url.Parse(ep.secondaryURL)
	if err != nil {
		return nil, err
	}
	return &wire{next: newHTTPClient(), log: log, secondaryHost: u.Host, secondaryPath: "/" + ep.account + "-secondary"}, nil
}

func (w *wire) locate(u *url.URL) string {
	if u.Host == w.secondaryHost || u.Path == w.secondaryPath || strings.HasPrefix(u.Path, w.secondaryPath+"/") {
		return "secondary"
	}
	return "primary"
}

func (w *wire) Do(req *http.Request) (*http.Response, error) {
	ev := &wireEvent{at: time.Now(), method: req.Method, loc: w.locate(req.URL),
		blob: !strings.Contains(req.URL.RawQuery, "restype=")}
	resp, err := w.next.Do(req)
	ev.end = time.Now()
	if err == nil {
		ev.status = resp.StatusCode
		resp.Body = &watchedBody{ReadCloser: resp.Body, ev: ev}
	}
	w.log.add(ev)
	if tr, ok := req.Context().Value(traceKey{}).(*readTrace); ok {
		tr.mu.Lock()
		tr.events = append(tr.events, ev)
		tr.mu.Unlock()
	}
	return resp, err
}

func (w *wire) close() { w.next.CloseIdleConnections() }

// watchedBody marks its request's event when the body breaks.
type watchedBody struct {
	io.ReadCloser
	ev *wireEvent
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.ev.bodyFail.Store(true)
	}
	return n, err
}
