package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/control"
)

// replicationCollector reads the replication state at every scrape.
type replicationCollector struct {
	read func() control.ReplicationStatus
	now  func() time.Time
}

var (
	descReplLag = prometheus.NewDesc(Namespace+"_replication_lag_seconds",
		"How far the secondary is behind: now minus LastSyncTime, on the emulator's clock.", nil, nil)
	descReplConfigured = prometheus.NewDesc(Namespace+"_replication_configured_lag_seconds",
		"The configured replication lag (--lag).", nil, nil)
	descReplQueue = prometheus.NewDesc(Namespace+"_replication_queue_length",
		"Writes committed on the primary and not yet on the secondary.", nil, nil)
	descReplPaused = prometheus.NewDesc(Namespace+"_replication_paused",
		"1 while replication is paused.", nil, nil)
	descReplSync = prometheus.NewDesc(Namespace+"_replication_last_sync_timestamp_seconds",
		"LastSyncTime as a Unix time: every write committed up to it is on the secondary.", nil, nil)
	descReplStatus = prometheus.NewDesc(Namespace+"_replication_status",
		"1 for the status Get Blob Service Stats reports (live, bootstrap or unavailable), 0 for the others.", []string{"status"}, nil)
)

func (c *replicationCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReplLag, descReplConfigured, descReplQueue, descReplPaused, descReplSync, descReplStatus} {
		ch <- d
	}
}

func (c *replicationCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.read()
	lag := max(c.now().Sub(st.LastSyncTime), 0)
	paused := 0.0
	if st.Paused {
		paused = 1
	}
	ch <- prometheus.MustNewConstMetric(descReplLag, prometheus.GaugeValue, lag.Seconds())
	ch <- prometheus.MustNewConstMetric(descReplConfigured, prometheus.GaugeValue, st.Lag.Seconds())
	ch <- prometheus.MustNewConstMetric(descReplQueue, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(descReplPaused, prometheus.GaugeValue, paused)
	ch <- prometheus.MustNewConstMetric(descReplSync, prometheus.GaugeValue, float64(st.LastSyncTime.UnixNano())/1e9)
	for _, s := range []string{"live", "bootstrap", "unavailable"} {
		v := 0.0
		if s == st.Status {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descReplStatus, prometheus.GaugeValue, v, s)
	}
}

var (
	descFaultFired = prometheus.NewDesc(Namespace+"_fault_rule_fired",
		"Firings of each fault rule the emulator holds now (the rule's own counter).", []string{"rule", "endpoint", "action", "state"}, nil)
	descFaultTotal = prometheus.NewDesc(Namespace+"_fault_firings_total",
		"Fault rule firings by endpoint, removed rules included.", []string{"endpoint"}, nil)
	descFaultRules = prometheus.NewDesc(Namespace+"_fault_rules",
		"Fault rules held, by state.", []string{"state"}, nil)
)

// faultCollector reads the Set's rules and firing totals at every scrape.
type faultCollector struct {
	set *fault.Set
}

func newFaultCollector(s *fault.Set) *faultCollector { return &faultCollector{set: s} }

func (c *faultCollector) totals() map[fault.Endpoint]int64 { return c.set.Firings() }

func (c *faultCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descFaultFired
	ch <- descFaultTotal
	ch <- descFaultRules
}

// maxRuleSeries bounds the rules geoblob_fault_rule_fired lists (the first
// ones, in evaluation order): its rule label takes one value per rule, and
// a client may add any number of rules.
const maxRuleSeries = 100

func (c *faultCollector) Collect(ch chan<- prometheus.Metric) {
	rules := c.set.List()
	states := map[fault.State]int{fault.Pending: 0, fault.Active: 0, fault.Expired: 0, fault.Exhausted: 0}
	for i, r := range rules {
		states[r.State]++
		if i >= maxRuleSeries {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descFaultFired, prometheus.GaugeValue, float64(r.Fired), r.ID, string(r.Endpoint), ActionKind(r.Action), string(r.State))
	}
	for s, n := range states {
		ch <- prometheus.MustNewConstMetric(descFaultRules, prometheus.GaugeValue, float64(n), string(s))
	}
	for ep, n := range c.set.Firings() {
		ch <- prometheus.MustNewConstMetric(descFaultTotal, prometheus.CounterValue, float64(n), string(ep))
	}
}

// ActionKind names what a rule does in one word: status, reset, hang,
// refuse or latency.
func ActionKind(a fault.Action) string {
	switch {
	case a.Status != 0:
		return "status"
	case a.Reset || a.ResetAfterBytes != nil || a.ResetAfterRequestBytes != nil:
		return "reset"
	case a.Hang:
		return "hang"
	case a.Refuse:
		return "refuse"
	}
	return "latency"
}
