package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob/fault"
)

// fakeReplication records the calls the control API makes.
type fakeReplication struct {
	mu     sync.Mutex
	paused bool
	status string
}

func (f *fakeReplication) Pause()  { f.mu.Lock(); f.paused = true; f.mu.Unlock() }
func (f *fakeReplication) Resume() { f.mu.Lock(); f.paused = false; f.mu.Unlock() }
func (f *fakeReplication) SetStatus(s string) error {
	switch s {
	case "live", "bootstrap", "unavailable":
	default:
		return fmt.Errorf("status must be live, bootstrap or unavailable, not %q", s)
	}
	f.mu.Lock()
	f.status = s
	f.mu.Unlock()
	return nil
}
func (f *fakeReplication) Status() ReplicationStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return ReplicationStatus{Status: f.status, Paused: f.paused, LastSyncTime: time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC), Pending: 2, Lag: time.Second}
}

func newHandler(token string) (http.Handler, *fault.Set, *fakeReplication) {
	set := fault.NewSet()
	rep := &fakeReplication{status: "live"}
	return NewHandler(Config{Faults: set, Replication: rep, Token: token}), set, rep
}

type answer struct {
	code int
	body map[string]any
	raw  string
}

func call(t *testing.T, h http.Handler, remote, method, path, body string, hdr ...string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = remote
	req.Host = "127.0.0.1:10000"
	if method != "GET" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{code: rec.Code, raw: rec.Body.String()}
	if rec.Code != http.StatusNoContent {
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, path, a.raw, err)
		}
	}
	return a
}

const (
	loop4  = "127.0.0.1:5555"
	loop6  = "[::1]:5555"
	remote = "203.0.113.7:5555"
)

func TestAccess(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		remote string
		hdr    []string
		want   int
	}{
		{"loopback v4", "", loop4, nil, 200},
		{"loopback v6", "", loop6, nil, 200},
		{"remote without token configured", "", remote, nil, 403},
		{"remote presenting a token nobody configured", "", remote, []string{"Authorization", "Bearer x"}, 403},
		{"remote without token", "s3cret", remote, nil, 403},
		{"remote wrong bearer", "s3cret", remote, []string{"Authorization", "Bearer nope"}, 403},
		{"remote wrong header", "s3cret", remote, []string{TokenHeader, "nope"}, 403},
		{"remote basic auth is not a token", "s3cret", remote, []string{"Authorization", "Basic s3cret"}, 403},
		{"remote bearer", "s3cret", remote, []string{"Authorization", "Bearer s3cret"}, 200},
		{"remote bearer any case", "s3cret", remote, []string{"Authorization", "bearer s3cret"}, 200},
		{"remote header", "s3cret", remote, []string{TokenHeader, "s3cret"}, 200},
		{"loopback without token", "s3cret", loop4, nil, 403},
		{"loopback with token", "s3cret", loop4, []string{TokenHeader, "s3cret"}, 200},
		{"loopback wrong token", "s3cret", loop4, []string{TokenHeader, "nope"}, 403},
		{"garbage remote address", "", "nonsense", nil, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, rep := newHandler(tt.token)
			for _, ep := range []struct{ method, path string }{
				{"GET", "/_geoblob/faults"},
				{"POST", "/_geoblob/replication/pause"},
				{"DELETE", "/_geoblob/faults"},
			} {
				a := call(t, h, tt.remote, ep.method, ep.path, "", tt.hdr...)
				if a.code != tt.want {
					t.Errorf("%s %s: %d, want %d (%s)", ep.method, ep.path, a.code, tt.want, a.raw)
				}
				if tt.want == 403 {
					if msg, _ := a.body["error"].(string); msg == "" || strings.Contains(msg, "s3cret") {
						t.Errorf("403 message %q", msg)
					}
				}
			}
			if tt.want == 403 && rep.Status().Paused {
				t.Error("a refused request paused replication")
			}
		})
	}
}

func TestFaultEndpoints(t *testing.T) {
	h, set, _ := newHandler("")
	a := call(t, h, loop4, "GET", "/_geoblob/faults", "")
	if a.code != 200 || a.raw == "" || fmt.Sprint(a.body["faults"]) != "[]" {
		t.Fatalf("empty list: %d %s", a.code, a.raw)
	}
	a = call(t, h, loop4, "POST", "/_geoblob/faults", `{"endpoint":"primary","match":{"blob":"HelloWorld"},"action":{"status":503},"limits":{"count":2}}`)
	if a.code != 201 || a.body["id"] == "" || a.body["state"] != "active" || a.body["endpoint"] != "primary" {
		t.Fatalf("add: %d %s", a.code, a.raw)
	}
	id := a.body["id"].(string)
	if _, ok := set.Decide(fault.Target{Endpoint: fault.Primary, Method: "GET", Blob: "HelloWorld.png"}); !ok {
		t.Fatal("added rule does not fire")
	}
	a = call(t, h, loop4, "GET", "/_geoblob/faults/"+id, "")
	if a.code != 200 || a.body["fired"] != float64(1) {
		t.Fatalf("get: %d %s", a.code, a.raw)
	}
	a = call(t, h, loop4, "GET", "/_geoblob/faults", "")
	if list, _ := a.body["faults"].([]any); len(list) != 1 {
		t.Fatalf("list: %s", a.raw)
	}
	if a = call(t, h, loop4, "DELETE", "/_geoblob/faults/"+id, ""); a.code != 204 {
		t.Fatalf("remove: %d %s", a.code, a.raw)
	}
	if a = call(t, h, loop4, "DELETE", "/_geoblob/faults/"+id, ""); a.code != 404 || a.body["error"] == "" {
		t.Fatalf("remove again: %d %s", a.code, a.raw)
	}
	for range 3 {
		if _, err := set.Add(fault.Rule{Endpoint: fault.Both, Action: fault.Action{Hang: true}}); err != nil {
			t.Fatal(err)
		}
	}
	if a = call(t, h, loop4, "DELETE", "/_geoblob/faults", ""); a.code != 200 || a.body["cleared"] != float64(3) {
		t.Fatalf("clear: %d %s", a.code, a.raw)
	}
}

func TestBadRequests(t *testing.T) {
	h, set, _ := newHandler("")
	tests := []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"status":503},"bogus":1}`, 400, `unknown field "bogus"`},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"status":503,"hang":true}}`, 400, "cannot be combined"},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"status":503},"limits":{"probability":2}}`, 400, "probability"},
		{"POST", "/_geoblob/faults", `not json`, 400, "invalid"},
		{"POST", "/_geoblob/faults", ``, 400, "empty body"},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"message":"` + strings.Repeat("x", 70<<10) + `"}}`, 400, "invalid"},
		{"PUT", "/_geoblob/faults", `{}`, 405, "use GET, POST, DELETE"},
		{"POST", "/_geoblob/faults/1", ``, 405, "use GET, DELETE"},
		{"GET", "/_geoblob/faults/1/x", ``, 404, "no control endpoint"},
		{"GET", "/_geoblob/nothing", ``, 404, "no control endpoint"},
		{"GET", "/_geoblob/replication/pause", ``, 405, "use POST"},
		{"PUT", "/_geoblob/replication/status", `{"status":"dead"}`, 400, "live, bootstrap or unavailable"},
		{"PUT", "/_geoblob/replication/status", `{"status":"live","extra":true}`, 400, `unknown field "extra"`},
		{"PUT", "/_geoblob/replication/status", `[]`, 400, "invalid body"},
		{"DELETE", "/_geoblob/replication/status", ``, 405, "use GET, PUT"},
		{"PUT", "/_geoblob/replication/status", `{"status":"live"} garbage`, 400, "trailing data"},
		{"PUT", "/_geoblob/replication/status", `{"status":"live"}{"status":"unavailable"}`, 400, "trailing data"},
		{"PUT", "/_geoblob/replication/status", ``, 400, "invalid body: empty body"},
		{"PUT", "/_geoblob/replication/status", `{"status":5}`, 400, "invalid body"},
		{"PUT", "/_geoblob/replication/status", `{"status":"` + strings.Repeat("x", 70<<10) + `"}`, 400, "larger than 65536 bytes"},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"message":"` + strings.Repeat("x", 70<<10) + `"}}`, 400, "larger than 65536 bytes"},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"status":503},"Endpoint":"secondary"}`, 400, "given twice"},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"status":"503"}}`, 400, "action.status"},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"latency":"5 sec"}}`, 400, `duration "5 sec"`},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"status":503},"limits":{"count":-1}}`, 400, "limits.count -1"},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"status":503},"limits":{"for":"-1s"}}`, 400, "limits.for -1s"},
		{"POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"jitter":"2562047h47m16.854775807s"}}`, 400, "at most 24h"},
	}
	for _, tt := range tests {
		a := call(t, h, loop4, tt.method, tt.path, tt.body)
		msg, _ := a.body["error"].(string)
		if a.code != tt.code || !strings.Contains(msg, tt.msg) {
			t.Errorf("%s %s %.40q: %d %q, want %d mentioning %q", tt.method, tt.path, tt.body, a.code, msg, tt.code, tt.msg)
		}
	}
	if n := len(set.List()); n != 0 {
		t.Errorf("%d rules were added by bad requests", n)
	}
}

func TestReplicationEndpoints(t *testing.T) {
	h, _, rep := newHandler("")
	a := call(t, h, loop4, "GET", "/_geoblob/replication", "")
	if a.code != 200 || a.body["status"] != "live" || a.body["paused"] != false || a.body["lastSyncTime"] != "2025-05-01T12:00:00Z" || a.body["lag"] != "1s" || a.body["pending"] != float64(2) {
		t.Fatalf("status: %d %s", a.code, a.raw)
	}
	if a = call(t, h, loop4, "POST", "/_geoblob/replication/pause", ""); a.code != 200 || a.body["paused"] != true || !rep.Status().Paused {
		t.Fatalf("pause: %d %s", a.code, a.raw)
	}
	if a = call(t, h, loop4, "POST", "/_geoblob/replication/resume", ""); a.code != 200 || a.body["paused"] != false {
		t.Fatalf("resume: %d %s", a.code, a.raw)
	}
	if a = call(t, h, loop4, "PUT", "/_geoblob/replication/status", `{"status":"bootstrap"}`); a.code != 200 || a.body["status"] != "bootstrap" {
		t.Fatalf("set status: %d %s", a.code, a.raw)
	}
	if a = call(t, h, loop4, "GET", "/_geoblob/replication/status", ""); a.code != 200 || a.body["status"] != "bootstrap" {
		t.Fatalf("get status: %d %s", a.code, a.raw)
	}
}

func TestUnavailableParts(t *testing.T) {
	h := NewHandler(Config{})
	for _, p := range []string{"/_geoblob/faults", "/_geoblob/faults/1", "/_geoblob/replication"} {
		if a := call(t, h, loop4, "GET", p, ""); a.code != 404 {
			t.Errorf("%s: %d", p, a.code)
		}
	}
}

func TestClient(t *testing.T) {
	h, _, _ := newHandler("s3cret")
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	c := &Client{BaseURL: srv.URL + "/_geoblob/", Token: "s3cret"}

	st, err := c.AddFault(ctx, fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Status: 503}, Limits: fault.Limits{Count: 5}})
	if err != nil || st.ID == "" || st.State != fault.Active || st.Limits.Count != 5 {
		t.Fatalf("AddFault = %+v, %v", st, err)
	}
	list, err := c.Faults(ctx)
	if err != nil || len(list) != 1 || list[0].ID != st.ID {
		t.Fatalf("Faults = %+v, %v", list, err)
	}
	if err := c.RemoveFault(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	var ae *APIError
	if err := c.RemoveFault(ctx, st.ID); !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Fatalf("RemoveFault again: %v", err)
	}
	if _, err := c.AddFault(ctx, fault.Rule{Endpoint: "up"}); !errors.As(err, &ae) || ae.StatusCode != 400 || !strings.Contains(ae.Message, "endpoint") {
		t.Fatalf("AddFault invalid: %v", err)
	}
	if n, err := c.ClearFaults(ctx); err != nil || n != 0 {
		t.Fatalf("ClearFaults = %d, %v", n, err)
	}
	rs, err := c.PauseReplication(ctx)
	if err != nil || !rs.Paused || rs.Lag != time.Second || rs.LastSyncTime.IsZero() {
		t.Fatalf("PauseReplication = %+v, %v", rs, err)
	}
	if rs, err = c.ResumeReplication(ctx); err != nil || rs.Paused {
		t.Fatalf("ResumeReplication = %+v, %v", rs, err)
	}
	if rs, err = c.SetReplicationStatus(ctx, "unavailable"); err != nil || rs.Status != "unavailable" {
		t.Fatalf("SetReplicationStatus = %+v, %v", rs, err)
	}
	if _, err = c.SetReplicationStatus(ctx, "gone"); !errors.As(err, &ae) || ae.StatusCode != 400 {
		t.Fatalf("SetReplicationStatus invalid: %v", err)
	}
	if rs, err = c.Replication(ctx); err != nil || rs.Status != "unavailable" {
		t.Fatalf("Replication = %+v, %v", rs, err)
	}

	bad := &Client{BaseURL: srv.URL, Token: "wrong"}
	if _, err := bad.Faults(ctx); !errors.As(err, &ae) || ae.StatusCode != 403 {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := (&Client{}).Faults(ctx); err == nil {
		t.Fatal("no BaseURL accepted")
	}
}

// TestClientServerAddress: the server may be given without a scheme;
// a bad address, an unreachable server and a foreign server's answer all
// give a one-line error.
func TestClientServerAddress(t *testing.T) {
	h, _, _ := newHandler("")
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	for _, base := range []string{srv.URL, strings.TrimPrefix(srv.URL, "http://"), strings.TrimPrefix(srv.URL, "http://") + "/_geoblob", " " + srv.URL + "/ "} {
		if _, err := (&Client{BaseURL: base}).Faults(ctx); err != nil {
			t.Errorf("BaseURL %q: %v", base, err)
		}
	}
	for _, base := range []string{"ftp://127.0.0.1:1", "http://", "http://127.0.0.1:1/?x=1", "http://[::1"} {
		if _, err := (&Client{BaseURL: base}).Faults(ctx); err == nil || !strings.Contains(err.Error(), "want http://HOST:PORT") {
			t.Errorf("BaseURL %q: %v", base, err)
		}
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	_, err = (&Client{BaseURL: down}).Faults(ctx)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the geoblob server at http://"+down) || strings.Contains(err.Error(), `Get "`) {
		t.Errorf("unreachable server: %v", err)
	}

	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>\n<body>\n  not\tgeoblob\n</body>\n</html>", http.StatusNotFound)
	}))
	defer foreign.Close()
	var ae *APIError
	_, err = (&Client{BaseURL: foreign.URL}).Faults(ctx)
	if !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Message != "<html> <body> not geoblob </body> </html>" {
		t.Errorf("foreign server: %v", err)
	}
}

// TestTokenNeverLogged: refusals and accepted requests are logged without
// the token, whichever way it was presented.
func TestTokenNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := NewHandler(Config{Faults: fault.NewSet(), Replication: &fakeReplication{status: "live"}, Token: "s3cret-token", Logger: log})
	for _, hdr := range [][]string{
		{"Authorization", "Bearer wrong-token"},
		{TokenHeader, "wrong-token"},
		{"Authorization", "Bearer s3cret-token"},
		{TokenHeader, "s3cret-token"},
	} {
		for _, remote := range []string{loop4, remote} {
			call(t, h, remote, "POST", "/_geoblob/faults", `{"endpoint":"primary","action":{"status":503}}`, hdr...)
			call(t, h, remote, "DELETE", "/_geoblob/faults", "", hdr...)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if buf.Len() == 0 {
		t.Fatal("nothing logged")
	}
	if strings.Contains(buf.String(), "s3cret") || strings.Contains(buf.String(), "wrong-token") {
		t.Errorf("a token was logged:\n%s", buf.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
