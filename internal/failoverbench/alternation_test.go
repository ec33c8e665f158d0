package failoverbench

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scripted answers each request with the next status for its host, and
// records the hosts in order.
type scripted struct {
	mu     sync.Mutex
	hosts  []string
	answer func(host string) int
}

func (s *scripted) Do(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.hosts = append(s.hosts, req.URL.Host)
	s.mu.Unlock()
	code := s.answer(req.URL.Host)
	h := http.Header{"x-ms-error-code": {"X"}}
	body := "<Error><Code>X</Code></Error>"
	if code == http.StatusOK {
		h = http.Header{"Content-Length": {"2"}}
		body = "ok"
	}
	return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// TestAlternation: try 1 on the primary, then the other location on each
// retry; a 404 from the secondary sends the rest of the request to the
// primary; every request starts over on the primary.
func TestAlternation(t *testing.T) {
	const p, s = "primary.test", "secondary.test"
	for _, tc := range []struct {
		name   string
		answer func(host string) int
		want   string
	}{
		{"both down", func(string) int { return 503 }, "P S P S"},
		{"primary down", func(h string) int {
			if h == p {
				return 503
			}
			return 200
		}, "P S"},
		{"not replicated yet", func(h string) int {
			if h == s {
				return 404
			}
			return 503
		}, "P S P P"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &scripted{answer: tc.answer}
			ep := endpoints{primaryURL: "http://" + p + "/acct", secondaryURL: "http://" + s + "/acct", account: "acct", key: "a2V5"}
			var none atomic.Int64
			r, err := newClient(ClientAlternation, ep, clientOptions(tr, time.Millisecond), &none)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 { // nothing carries over to the next request
				tr.mu.Lock()
				tr.hosts = nil
				tr.mu.Unlock()
				_, _ = r.stream(context.Background(), "c", "b")
				var got []string
				for _, h := range tr.hosts {
					got = append(got, map[string]string{p: "P", s: "S"}[h])
				}
				if g := strings.Join(got, " "); g != tc.want {
					t.Errorf("request %d went to %s, want %s", i+1, g, tc.want)
				}
			}
		})
	}
}
