// Package metrics measures the emulator for Prometheus: requests by
// endpoint, operation and status, latency, bytes in and out, connections,
// replication lag and backlog, and fault firings. Handler serves them in the
// Prometheus text format at /_geoblob/metrics, behind the control API's
// access checks.
//
// Every label takes a bounded set of values: the endpoint is primary or
// secondary, the operation one of the names Operation returns, the status a
// number or "reset"/"aborted", and fault rules are few (a rule's id is a
// label only on the per-rule gauge, which drops a rule once it is removed).
package metrics

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/control"
)

// Namespace prefixes every metric name.
const Namespace = "geoblob"

// Status labels for requests that got no HTTP answer.
const (
	StatusReset   = "reset"   // the connection was reset (a fault rule)
	StatusAborted = "aborted" // the client went away before an answer
)

// Request describes one finished request, for Config.OnRequest.
type Request struct {
	Endpoint  string // "primary" or "secondary"
	Operation string // see Operation
	Method    string
	Status    string // "200", "503", ..., StatusReset or StatusAborted
	Code      int    // the HTTP status, 0 for a reset or abort
	Duration  time.Duration
	BytesIn   int64
	BytesOut  int64
	At        time.Time // when it finished
}

// Config configures the metrics.
type Config struct {
	// Faults is read at every scrape for fault firings; nil leaves them out.
	Faults *fault.Set
	// Replication reads the replication state at every scrape; nil leaves
	// it out.
	Replication func() control.ReplicationStatus
	// Now is the emulator's clock, for the replication lag; time.Now when
	// nil.
	Now func() time.Time
	// OnRequest, when set, is called after every request the middleware
	// measured, on the request's goroutine. It must not block.
	OnRequest func(Request)
	// GoCollectors adds the Go runtime and process collectors.
	GoCollectors bool
}

// Metrics holds the emulator's collectors in a registry of its own.
type Metrics struct {
	cfg      Config
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
	connsNew prometheus.Counter
	connsNow prometheus.Gauge
	faults   *faultCollector

	byEndpoint  sync.Map // endpoint label -> *endpointMetrics
	byOperation sync.Map // operationKey -> *operationMetrics
}

// LatencyBuckets are the bounds, in seconds, of the latency histogram.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// New builds the metrics and registers them.
func New(cfg Config) *Metrics {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry()}
	labels := []string{"endpoint", "operation", "status"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "requests_total",
		Help: "Blob API requests answered, by endpoint, operation and HTTP status (reset: connection reset by a fault; aborted: the client left first).",
	}, labels)
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "request_duration_seconds",
		Help:    "Time from a Blob API request's arrival to the end of its answer, fault delays included.",
		Buckets: LatencyBuckets,
	}, []string{"endpoint", "operation"})
	m.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "request_bytes_total",
		Help: "Request body bytes read by the Blob API, by endpoint.",
	}, []string{"endpoint"})
	m.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "response_bytes_total",
		Help: "Response body bytes written by the Blob API, by endpoint.",
	}, []string{"endpoint"})
	m.inFlight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "requests_in_flight",
		Help: "Blob API requests being served, by endpoint.",
	}, []string{"endpoint"})
	m.connsNew = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "connections_accepted_total",
		Help: "TCP connections accepted by the emulator's listeners.",
	})
	m.connsNow = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "connections_open",
		Help: "TCP connections open on the emulator's listeners (hijacked ones, such as those a fault resets, leave the count).",
	})
	m.reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut, m.inFlight, m.connsNew, m.connsNow)
	if cfg.Replication != nil {
		m.reg.MustRegister(&replicationCollector{read: cfg.Replication, now: cfg.Now})
	}
	if cfg.Faults != nil {
		m.faults = newFaultCollector(cfg.Faults)
		m.reg.MustRegister(m.faults)
	}
	if cfg.GoCollectors {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registry is the registry the metrics live in, for adding more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or OpenMetrics)
// format.
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed; use GET", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// FaultFirings returns the fault rules' firings so far by endpoint, removed
// rules included (fault.Set.Firings).
func (m *Metrics) FaultFirings() map[fault.Endpoint]int64 {
	if m.faults == nil {
		return nil
	}
	return m.faults.totals()
}

// ConnState counts connections; chain it into http.Server.ConnState.
func (m *Metrics) ConnState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		m.connsNew.Inc()
		m.connsNow.Inc()
	case http.StateClosed, http.StateHijacked:
		m.connsNow.Dec()
	}
}

// Middleware measures every request next serves. endpoint names the
// endpoint a request addresses ("primary" or "secondary").
func (m *Metrics) Middleware(endpoint func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ep := endpoint(r)
		op := Operation(r)
		epm, opm := m.children(ep, op)
		epm.inFlight.Inc()
		defer epm.inFlight.Dec()
		// One allocation holds both counters.
		cs := &counters{w: countingWriter{ResponseWriter: w}, body: countingBody{ReadCloser: r.Body}}
		body, cw := &cs.body, &cs.w
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		defer func() {
			// A panic is re-raised; what matters here is the bookkeeping.
			status := cw.statusLabel(r)
			d := time.Since(start)
			opm.requests(m, ep, op, status).Inc()
			opm.latency.Observe(d.Seconds())
			in, out := body.n(), cw.n()
			epm.bytesIn.Add(float64(in))
			epm.bytesOut.Add(float64(out))
			if m.cfg.OnRequest != nil {
				code, _ := strconv.Atoi(status) // 0 for a reset or abort
				m.cfg.OnRequest(Request{Endpoint: ep, Operation: op, Method: r.Method, Status: status, Code: code,
					Duration: d, BytesIn: in, BytesOut: out, At: start.Add(d)})
			}
		}()
		next.ServeHTTP(cw, r)
	})
}

// The middleware's metric children, found once per endpoint, operation and
// status rather than hashed on every request. Their label values come from
// small fixed sets, so the caches stay small.

type endpointMetrics struct {
	inFlight          prometheus.Gauge
	bytesIn, bytesOut prometheus.Counter
}

type operationMetrics struct {
	latency  prometheus.Observer
	byStatus sync.Map // status label -> prometheus.Counter
}

type operationKey struct{ endpoint, operation string }

func (m *Metrics) children(ep, op string) (*endpointMetrics, *operationMetrics) {
	e, ok := m.byEndpoint.Load(ep)
	if !ok {
		e, _ = m.byEndpoint.LoadOrStore(ep, &endpointMetrics{
			inFlight: m.inFlight.WithLabelValues(ep),
			bytesIn:  m.bytesIn.WithLabelValues(ep),
			bytesOut: m.bytesOut.WithLabelValues(ep),
		})
	}
	key := operationKey{ep, op}
	o, ok := m.byOperation.Load(key)
	if !ok {
		o, _ = m.byOperation.LoadOrStore(key, &operationMetrics{latency: m.latency.WithLabelValues(ep, op)})
	}
	return e.(*endpointMetrics), o.(*operationMetrics)
}

func (o *operationMetrics) requests(m *Metrics, ep, op, status string) prometheus.Counter {
	c, ok := o.byStatus.Load(status)
	if !ok {
		c, _ = o.byStatus.LoadOrStore(status, m.requests.WithLabelValues(ep, op, status))
	}
	return c.(prometheus.Counter)
}

// counters are the request's two counters, allocated together.
type counters struct {
	w    countingWriter
	body countingBody
}

// countingBody counts the request body bytes the handler reads.
type countingBody struct {
	io.ReadCloser
	mu    sync.Mutex
	count int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.mu.Lock()
	b.count += int64(n)
	b.mu.Unlock()
	return n, err
}

func (b *countingBody) n() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

// countingWriter records the status and counts the body bytes written. It
// keeps http.ResponseController working (Flush, Hijack, deadlines) through
// Unwrap, and notes a hijack.
type countingWriter struct {
	http.ResponseWriter
	mu       sync.Mutex
	status   int
	written  int64
	hijacked bool
}

func (w *countingWriter) WriteHeader(code int) {
	w.mu.Lock()
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.mu.Unlock()
	n, err := w.ResponseWriter.Write(p)
	w.mu.Lock()
	w.written += int64(n)
	w.mu.Unlock()
	return n, err
}

// Flush lets the wrapped writer flush (for handlers that type-assert).
func (w *countingWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack takes over the connection, noting that no HTTP answer follows.
func (w *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.mu.Lock()
		w.hijacked = true
		w.mu.Unlock()
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *countingWriter) n() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written
}

func (w *countingWriter) statusLabel(r *http.Request) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.hijacked:
		return StatusReset
	case w.status != 0:
		return strconv.Itoa(w.status)
	case r.Context().Err() != nil:
		return StatusAborted
	}
	return "200" // net/http answers 200 for a handler that wrote nothing
}
