package fault_test

import (
	"fmt"
	"time"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// A Set on a clock with timers ends a rule's hangs when its For passes, on
// that clock: here a manual one, as in a test.
func ExampleWithTimeSource() {
	clk := emulator.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rules := fault.NewSet(fault.WithTimeSource(clk))
	id, err := rules.Add(fault.Rule{
		Endpoint: fault.Primary,
		Action:   fault.Action{Hang: true},
		Limits:   fault.Limits{For: fault.Duration(30 * time.Second)},
	})
	if err != nil {
		panic(err)
	}
	clk.Advance(30 * time.Second) // the requests it held are let go now
	st, _ := rules.Get(id)
	fmt.Println(st.State)
	// Output: expired
}
