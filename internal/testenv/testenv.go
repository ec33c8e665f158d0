// Package testenv is what geoblob's library tests share: one manual test
// clock and one launcher of the in-process emulator with a client
// configuration that keeps the SDK's retries short. It must not import the
// geoblob package, whose in-package tests use it too.
package testenv

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/clock"
)

// Epoch is where every test clock starts.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Clock returns a manual clock reading Epoch; pass its Now as
// geoblob.Config.Now and move it with Advance.
func Clock() *clock.Manual { return clock.NewManual(Epoch) }

// Emulator starts an in-process geo-redundant emulator on 127.0.0.1 and
// closes it when the test ends.
func Emulator(t testing.TB, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return emu
}

// ClientOptions keeps the SDK's retries short (3 tries, 1-5 ms apart) so
// tests never sleep in back-off, and gives the client its own connection
// pool, closed before the emulator so that its shutdown never waits for
// idle connections.
func ClientOptions(t testing.TB) *azblob.ClientOptions {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	o := &azblob.ClientOptions{}
	o.Transport = &http.Client{Transport: tr}
	o.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond}
	return o
}

// EmulatorClientOptions is ClientOptions with the emulator's own HTTP
// client as transport: host-style names (ACCOUNT.blob.localhost) dialled to
// loopback and, for an emulator serving HTTPS, its certificate trusted.
func EmulatorClientOptions(t testing.TB, emu *emulator.Emulator) *azblob.ClientOptions {
	o := ClientOptions(t)
	hc := emu.HTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	o.Transport = hc
	return o
}

// Fault adds a rule to the emulator's fault set and returns its id.
func Fault(t testing.TB, emu *emulator.Emulator, r fault.Rule) string {
	t.Helper()
	id, err := emu.Faults().Add(r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Fired returns how often rule id fired.
func Fired(t testing.TB, emu *emulator.Emulator, id string) int64 {
	t.Helper()
	st, err := emu.Faults().Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return st.Fired
}

// Reads matches the reads of one container at an endpoint.
func Reads(ep fault.Endpoint, container string) fault.Rule {
	return fault.Rule{Endpoint: ep, Match: fault.Match{Op: fault.Read, Container: container}}
}
