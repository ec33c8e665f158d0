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
