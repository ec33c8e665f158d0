package emulator_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/emulator"
)

// TestMalformedRequestsAzureErrors: requests net/http refuses before any
// handler runs still get an Azure error from a started emulator.
func TestMalformedRequestsAzureErrors(t *testing.T) {
	emu := start(t, emulator.Options{})
	for _, addr := range []string{strings.TrimPrefix(emu.URL(), "http://"), strings.TrimPrefix(strings.TrimSuffix(emu.SecondaryURL(), "/"+emu.AccountName()), "http://")} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /devstoreaccount1/c/b HTTP/1.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "MissingRequiredHeader" {
			t.Errorf("%s: %d %q", addr, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	}
}
