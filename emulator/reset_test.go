package emulator_test

import (
	"errors"
	"net/http"
	"syscall"
	"testing"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// TestResetIsRST: a reset rule ends the connection with a TCP RST through
// every wrapper of the emulator's listeners, so the client sees
// ECONNRESET, not an orderly close.
func TestResetIsRST(t *testing.T) {
	emu := start(t, emulator.Options{})
	if _, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Both, Action: fault.Action{Reset: true}}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, u := range []string{emu.PrimaryURL(), emu.SecondaryURL()} {
		resp, err := client.Get(u + "/c/b")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: answered %d", u, resp.StatusCode)
		}
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: %v, want ECONNRESET", u, err)
		}
	}
}
