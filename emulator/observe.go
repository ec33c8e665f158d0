package emulator

import (
	"net"
	"net/http"
	"strings"

	"github.com/geoblob/geoblob/internal/control"
	"github.com/geoblob/geoblob/internal/dashboard"
	"github.com/geoblob/geoblob/internal/location"
	"github.com/geoblob/geoblob/internal/metrics"
)

// MetricsPath is where the emulator serves its Prometheus metrics.
const MetricsPath = control.PathPrefix + "metrics"

// DashboardPath is where the emulator serves its live dashboard.
const DashboardPath = dashboard.Path

// observer holds the emulator's metrics and dashboard.
type observer struct {
	metrics *metrics.Metrics
	hub     *dashboard.Hub
}

// observe builds the metrics and the dashboard and returns the handlers
// the control API mounts behind its access checks.
func (e *Emulator) observe() map[string]http.Handler {
	repl := replicationControl{e}
	var hub *dashboard.Hub
	m := metrics.New(metrics.Config{
		Faults:      e.faults,
		Replication: repl.Status,
		Now:         e.opts.Clock.Now,
		OnRequest:   func(r metrics.Request) { hub.Record(r) },
	})
	hub = dashboard.New(dashboard.Sources{
		Faults:       e.faults,
		Replication:  repl.Status,
		FaultFirings: m.FaultFirings,
		Now:          e.opts.Clock.Now,
	}, dashboard.Options{Logger: e.log})
	hub.Start()
	e.obs = observer{metrics: m, hub: hub}
	return map[string]http.Handler{
		strings.TrimPrefix(MetricsPath, control.PathPrefix):   m.Handler(),
		strings.TrimPrefix(DashboardPath, control.PathPrefix): hub.Handler(),
	}
}

// measured wraps the Blob API (fault injection included) in the metrics.
func (e *Emulator) measured(h http.Handler, secondaryHost bool) http.Handler {
	return e.obs.metrics.Middleware(func(r *http.Request) string { return endpointOf(r, secondaryHost) }, h)
}

// endpointOf names the endpoint r addresses, as fault rules see it.
func endpointOf(r *http.Request, secondaryHost bool) string {
	if secondaryHost || location.ClassifyServed(r.Host, r.URL.Path).Secondary {
		return "secondary"
	}
	return "primary"
}

func (e *Emulator) connState(c net.Conn, st http.ConnState) {
	if e.obs.metrics != nil {
		e.obs.metrics.ConnState(c, st)
	}
}

func (o *observer) close() {
	if o.hub != nil {
		o.hub.Close()
	}
}

// Dashboard is the hub behind the emulator's dashboard, for feeding it the
// reads and breaker transitions of a geoblob client (geoblob demo
// --dashboard does).
func (e *Emulator) Dashboard() *dashboard.Hub { return e.obs.hub }

// DashboardURL is the address of the live dashboard, empty for an emulator
// built with New.
func (e *Emulator) DashboardURL() string {
	if e.URL() == "" {
		return ""
	}
	return e.URL() + DashboardPath
}

// MetricsURL is the address of the Prometheus metrics, empty for an
// emulator built with New.
func (e *Emulator) MetricsURL() string {
	if e.URL() == "" {
		return ""
	}
	return e.URL() + MetricsPath
}
