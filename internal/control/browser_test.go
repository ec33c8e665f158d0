package control

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBrowserAttacks: a web page in a developer's browser can reach a
// loopback port. DNS rebinding (a foreign Host), cross-site requests (a
// foreign Origin) and form or text/plain POSTs must not change anything.
func TestBrowserAttacks(t *testing.T) {
	tests := []struct {
		name string
		hdr  []string
		want int
	}{
		{"loopback IP host", []string{"Host", "127.0.0.1:10000"}, 200},
		{"IPv6 loopback host", []string{"Host", "[::1]:10000"}, 200},
		{"localhost", []string{"Host", "localhost:10000"}, 200},
		{"name under .localhost", []string{"Host", "emu.localhost:10000"}, 200},
		{"rebound attacker domain", []string{"Host", "evil.example:10000"}, 403},
		{"attacker domain ending in localhost", []string{"Host", "evillocalhost:10000"}, 403},
		{"foreign IP host", []string{"Host", "198.51.100.9:10000"}, 403},
		{"same origin", []string{"Origin", "http://127.0.0.1:10000"}, 200},
		{"cross-site origin", []string{"Origin", "http://evil.example"}, 403},
		{"other local port", []string{"Origin", "http://localhost:3000"}, 403},
		{"null origin", []string{"Origin", "null"}, 403},
		{"form post", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
		{"text/plain post", []string{"Content-Type", "text/plain"}, 415},
		{"no content type", []string{"Content-Type", ""}, 415},
		{"json with charset", []string{"Content-Type", "application/json; charset=utf-8"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, rep := newHandler("")
			a := call(t, h, loop4, "POST", "/_geoblob/replication/pause", "", tt.hdr...)
			if a.code != tt.want {
				t.Fatalf("got %d, want %d (%s)", a.code, tt.want, a.raw)
			}
			if tt.want != 200 && rep.Status().Paused {
				t.Error("a refused request paused replication")
			}
		})
	}
	// Reads are subject to the Host and Origin checks too (a rebound page
	// must not read the rules), but need no Content-Type.
	h, _, _ := newHandler("")
	if a := call(t, h, loop4, "GET", "/_geoblob/faults", "", "Host", "evil.example"); a.code != 403 {
		t.Errorf("GET with a foreign Host: %d", a.code)
	}
	if a := call(t, h, loop4, "GET", "/_geoblob/faults", "", "Content-Type", "text/plain"); a.code != 200 {
		t.Errorf("GET with text/plain: %d", a.code)
	}
}

// TestListenerAddressHost: a Host naming the address the connection came in
// on is allowed, so a server on a LAN address is usable by IP.
func TestListenerAddressHost(t *testing.T) {
	h, _, _ := newHandler("tok")
	req := httptest.NewRequest("GET", "/_geoblob/faults", nil)
	req.RemoteAddr = remote
	req.Host = "192.0.2.10:10000"
	req.Header.Set(TokenHeader, "tok")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 10000})))
	if rec.Code != 200 {
		t.Fatalf("own address: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	req.Host = "192.0.2.11:10000"
	h.ServeHTTP(rec, req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 10000})))
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "Host") {
		t.Fatalf("other address: %d %s", rec.Code, rec.Body)
	}
}
