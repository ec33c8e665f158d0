package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/geoblob/geoblob/fault"
)

// TestFaultFiringsSurviveRemoval checks that geoblob_fault_firings_total
// counts the firings of rules removed or cleared before any scrape saw
// them, as when the dashboard's Recover ends an outage between two scrapes.
func TestFaultFiringsSurviveRemoval(t *testing.T) {
	set := fault.NewSet()
	defer set.Close()
	m := New(Config{Faults: set})
	fire := func(ep fault.Endpoint, n int) string {
		t.Helper()
		id, err := set.Add(fault.Rule{Endpoint: ep, Action: fault.Action{Status: 503}})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			if _, ok := set.Decide(fault.Target{Endpoint: fault.Primary, Method: "GET"}); !ok {
				t.Fatal("the rule did not fire")
			}
		}
		return id
	}
	removed := fire(fault.Primary, 3)
	if err := set.Remove(removed); err != nil {
		t.Fatal(err)
	}
	fire(fault.Both, 2)
	set.Clear()
	fire(fault.Primary, 1) // still held
	want := `
# HELP geoblob_fault_firings_total Fault rule firings by endpoint, removed rules included.
# TYPE geoblob_fault_firings_total counter
geoblob_fault_firings_total{endpoint="both"} 2
geoblob_fault_firings_total{endpoint="primary"} 4
geoblob_fault_firings_total{endpoint="secondary"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "geoblob_fault_firings_total"); err != nil {
		t.Error(err)
	}
	if got := m.FaultFirings(); got[fault.Primary] != 4 || got[fault.Both] != 2 || got[fault.Secondary] != 0 {
		t.Errorf("FaultFirings %v, want primary 4, both 2, secondary 0", got)
	}
}

// TestFaultRuleSeriesBounded checks that the per-rule gauge, whose rule
// label takes one value per rule, lists a bounded number of rules however
// many a client adds, while geoblob_fault_rules counts them all.
func TestFaultRuleSeriesBounded(t *testing.T) {
	set := fault.NewSet()
	defer set.Close()
	m := New(Config{Faults: set})
	const rules = maxRuleSeries + 5
	for range rules {
		if _, err := set.Add(fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Status: 500}}); err != nil {
			t.Fatal(err)
		}
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	var active float64
	for _, f := range fams {
		series[f.GetName()] = len(f.GetMetric())
		if f.GetName() == "geoblob_fault_rules" {
			for _, mt := range f.GetMetric() {
				for _, l := range mt.GetLabel() {
					if l.GetName() == "state" && l.GetValue() == "active" {
						active = mt.GetGauge().GetValue()
					}
				}
			}
		}
	}
	if n := series["geoblob_fault_rule_fired"]; n != maxRuleSeries {
		t.Errorf("geoblob_fault_rule_fired has %d series for %d rules, want %d", n, rules, maxRuleSeries)
	}
	if active != rules {
		t.Errorf("geoblob_fault_rules{state=active} = %v, want %d", active, rules)
	}
}
