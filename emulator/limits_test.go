package emulator_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/emulator"
)

// bound is how long a test waits for an event before failing; the events
// come far sooner unless the behaviour under test is broken.
const bound = 15 * time.Second

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

// waitServerClose waits until the server closes c and fails the test when
// it does not within bound.
func waitServerClose(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(bound))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
}

func TestDefaultIdleTimeoutWithinAMinute(t *testing.T) {
	if emulator.DefaultIdleTimeout <= 0 || emulator.DefaultIdleTimeout > time.Minute {
		t.Fatalf("DefaultIdleTimeout %v", emulator.DefaultIdleTimeout)
	}
}

// TestIdleKeepAliveConnectionClosed: a keep-alive connection that sends no
// further request is closed after IdleTimeout. It stayed open for ever.
func TestIdleKeepAliveConnectionClosed(t *testing.T) {
	emu := start(t, emulator.Options{NoSecondaryListener: true, IdleTimeout: 100 * time.Millisecond})
	c, err := net.Dial("tcp", hostOf(emu.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /%s?restype=service&comp=properties HTTP/1.1\r\nHost: %s\r\n\r\n", emu.AccountName(), hostOf(emu.URL()))
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	waitServerClose(t, c, r)
}

// TestStalledUploadDropped: a Put Blob whose body stops arriving is
// answered and its connection closed after ReadTimeout. It waited for
// ever, and nothing is stored.
func TestStalledUploadDropped(t *testing.T) {
	emu := start(t, emulator.Options{NoSecondaryListener: true, ReadTimeout: 100 * time.Millisecond})
	client, _ := clients(t, emu, emu.SecondaryURL())
	if _, err := client.CreateContainer(t.Context(), "ctr", nil); err != nil {
		t.Fatal(err)
	}
	sasURL, err := client.ServiceClient().NewContainerClient("ctr").GetSASURL(sas.ContainerPermissions{Write: true, Create: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(sasURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "PUT %s/stalled?%s HTTP/1.1\r\nHost: %s\r\nx-ms-blob-type: BlockBlob\r\nContent-Length: 100\r\n\r\nonly part", u.Path, u.RawQuery, u.Host)
	waitServerClose(t, c, bufio.NewReader(c))
	if _, err := client.ServiceClient().NewContainerClient("ctr").NewBlobClient("stalled").GetProperties(t.Context(), nil); err == nil {
		t.Fatal("a stalled upload was stored")
	}
}

// TestServesWhileIdleConnectionsHeld holds far more idle anonymous
// connections than MaxConns: authenticated requests keep being served, and
// the server does not keep more than MaxConns connections open. Without a
// cap every idle connection held a descriptor until the process ran out.
func TestServesWhileIdleConnectionsHeld(t *testing.T) {
	const maxConns, idle = 16, 200
	emu := start(t, emulator.Options{NoSecondaryListener: true, MaxConns: maxConns})
	client, _ := clients(t, emu, emu.SecondaryURL())
	var conns []net.Conn
	for range idle {
		c, err := net.Dial("tcp", hostOf(emu.URL()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i := range 20 {
		if _, err := client.CreateContainer(t.Context(), fmt.Sprintf("ctr%d", i), nil); err != nil {
			t.Fatalf("request %d with %d idle connections held: %v", i, idle, err)
		}
	}
	// The server closed all but at most maxConns of the idle ones.
	closed := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				closed++
			}
		}
	}
	if closed < idle-maxConns {
		t.Fatalf("the server closed %d of %d idle connections; it may keep at most %d", closed, idle, maxConns)
	}
}

// TestIdleAfterARequestIsRecycled: a keep-alive connection that has served
// a request and now waits for its next one counts as idle, through every
// wrapper of the emulator's listeners, so at the cap a new client gets in
// by closing it. Each held connection here has made a request first.
func TestIdleAfterARequestIsRecycled(t *testing.T) {
	const maxConns = 4
	emu := start(t, emulator.Options{NoSecondaryListener: true, MaxConns: maxConns})
	var held []net.Conn
	for i := range maxConns {
		c, err := net.Dial("tcp", hostOf(emu.URL()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := fmt.Fprintf(c, "GET /devstoreaccount1/c%d/b HTTP/1.1\r\nHost: %s\r\n\r\n", i, hostOf(emu.URL())); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("held connection %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		held = append(held, c)
	}
	client, _ := clients(t, emu, emu.SecondaryURL())
	for i := range 3 {
		if _, err := client.CreateContainer(t.Context(), fmt.Sprintf("fresh%d", i), nil); err != nil {
			t.Fatalf("request %d with %d idle keep-alive connections held: %v", i, len(held), err)
		}
	}
}
