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

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/emulator"
)

// bound is how long a test waits for an event before failing; the events
// come far sooner unless the behaviour under test is broken.
const bound = 15 * time.Second

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

// writeSAS is a write-and-create SAS URL for the container "ctr".
func writeSAS(t *testing.T, client *azblob.Client) *url.URL {
	t.Helper()
	sasURL, err := client.ServiceClient().NewContainerClient("ctr").GetSASURL(sas.ContainerPermissions{Write: true, Create: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(sasURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startUpload opens a connection of its own and begins a 10-byte Put Blob
// of name with Expect: 100-continue, returning once "100 Continue" has
// come: a handler is then reading the body, so the write is in flight and
// holds its connection until the test sends the bytes. The connection is
// closed when the test ends.
func startUpload(t *testing.T, emu *emulator.Emulator, u *url.URL, name string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", hostOf(emu.URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "PUT %s/%s?%s HTTP/1.1\r\nHost: %s\r\nx-ms-blob-type: BlockBlob\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n", u.Path, name, u.RawQuery, u.Host); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(bound))
	if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, " 100 ") {
		t.Fatalf("upload of %s: %q, %v; want 100 Continue", name, line, err)
	}
	if _, err := r.ReadString('\n'); err != nil { // the blank line
		t.Fatal(err)
	}
	return c, r
}

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
	u := writeSAS(t, client)
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

// TestBusyConnectionsAreNotEvicted: the cap recycles idle connections
// only. A connection in the middle of a request is seen as busy through
// every wrapper of the emulator's listeners, so a new client at the cap is
// turned away and the busy uploads complete.
func TestBusyConnectionsAreNotEvicted(t *testing.T) {
	const maxConns = 3
	emu := start(t, emulator.Options{NoSecondaryListener: true, MaxConns: maxConns})
	client, _ := clients(t, emu, emu.SecondaryURL())
	// The container is made in process and the SAS signed locally, so that
	// no connection but the test's own counts against the cap: a client's
	// keep-alive connection the server has not yet seen go idle would take
	// a slot (this test was flaky under load for that reason).
	if _, err := emu.CreateObject(emulator.Object{Container: "ctr", Name: "seed", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	u := writeSAS(t, client)
	var busy []net.Conn
	var readers []*bufio.Reader
	for i := range maxConns {
		// Served, not merely accepted: a handler is reading the body.
		c, r := startUpload(t, emu, u, fmt.Sprintf("b%d", i))
		if _, err := io.WriteString(c, "12345"); err != nil {
			t.Fatal(err)
		}
		busy = append(busy, c)
		readers = append(readers, r)
	}
	// A new connection at the cap must be turned away: every slot is busy.
	{
		c, err := net.Dial("tcp", hostOf(emu.URL()))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fmt.Fprintf(c, "GET /devstoreaccount1/ctr/x HTTP/1.1\r\nHost: %s\r\n\r\n", hostOf(emu.URL()))
		_ = c.SetReadDeadline(time.Now().Add(bound))
		_, rerr := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if rerr == nil {
			t.Fatal("a new connection was served with every slot busy")
		}
	}
	for i, c := range busy {
		if _, err := io.WriteString(c, "67890"); err != nil {
			t.Fatalf("busy connection %d was closed: %v", i, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(bound))
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatalf("busy connection %d got no answer (evicted?): %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("busy upload %d: status %d, want 201", i, resp.StatusCode)
		}
	}
}
