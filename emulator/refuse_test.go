package emulator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/control"
)

// TestRefusePrimaryTakesDownItsListener: a refuse rule on the primary takes
// the primary listener down as a host that is down: new connections are
// reset before any request is read, a kept-alive connection is reset on its
// next request, and path-style secondary requests on that listener go down
// with it. The distinct secondary listener keeps serving, and so does the
// control API, so that the outage can be ended.
func TestRefusePrimaryTakesDownItsListener(t *testing.T) {
	emu := start(t, emulator.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	name := emu.AccountName()
	pathSecondary := emu.ServiceURL(emulator.SecondaryPathStyle, name) + "/c/b"
	secondaryHost := emu.ServiceURL(emulator.Secondary, name) + "/c/b"
	primary := emu.PrimaryURL() + "/c/b"

	keepAlive := &http.Client{Timeout: 10 * time.Second}
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// answered reports whether an HTTP answer came back, whatever its
	// status (these requests carry no credentials).
	answered := func(c *http.Client, url string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	// A connection to the primary listener, kept alive, carrying the
	// secondary path-style.
	if err := answered(keepAlive, pathSecondary); err != nil {
		t.Fatalf("before the rule: %v", err)
	}

	id, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Refuse: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		url    string
		down   bool
	}{
		{"kept-alive connection, path-style secondary", keepAlive, pathSecondary, true},
		{"new connection, primary", fresh, primary, true},
		{"new connection, path-style secondary", fresh, pathSecondary, true},
		{"secondary listener", fresh, secondaryHost, false},
		{"secondary listener, kept alive", keepAlive, secondaryHost, false},
	} {
		err := answered(tc.client, tc.url)
		if tc.down && err == nil {
			t.Errorf("%s: answered while the primary is refused", tc.name)
		}
		if !tc.down && err != nil {
			t.Errorf("%s: %v, want an answer", tc.name, err)
		}
	}
	st, err := emu.Faults().Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Fired < 3 {
		t.Errorf("the rule fired %d times, want one per refused connection (3 or more)", st.Fired)
	}

	// The control API on the refused listener still answers, and ends the
	// outage.
	ctl := &control.Client{BaseURL: emu.URL(), HTTP: fresh}
	if n, err := ctl.ClearFaults(ctx); err != nil || n != 1 {
		t.Fatalf("clearing the faults through the refused listener: %d, %v", n, err)
	}
	for _, url := range []string{primary, pathSecondary} {
		if err := answered(fresh, url); err != nil {
			t.Errorf("after the outage, %s: %v", url, err)
		}
	}
}

// TestRefuseSecondaryLeavesPrimaryListener: a refuse rule on the secondary
// takes its own listener down but not the primary's host, where the
// path-style secondary is refused request by request and the primary
// serves on.
func TestRefuseSecondaryLeavesPrimaryListener(t *testing.T) {
	emu := start(t, emulator.Options{})
	name := emu.AccountName()
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(url string) error {
		resp, err := fresh.Get(url)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	if _, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Refuse: true}}); err != nil {
		t.Fatal(err)
	}
	if err := get(emu.PrimaryURL() + "/c/b"); err != nil {
		t.Errorf("primary: %v", err)
	}
	for _, url := range []string{emu.ServiceURL(emulator.SecondaryPathStyle, name) + "/c/b", emu.ServiceURL(emulator.Secondary, name) + "/c/b"} {
		if err := get(url); err == nil {
			t.Errorf("%s answered while the secondary is refused", url)
		} else if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want a reset", url, err)
		}
	}
}
