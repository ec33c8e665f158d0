package control

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/geoblob/geoblob/fault"
)

// TestMounts checks that Config.Mounts handlers are reached only through
// the access checks, and that a browser without the token is challenged.
func TestMounts(t *testing.T) {
	mounted := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, name+" "+r.URL.Path)
		})
	}
	newH := func(token string) http.Handler {
		return NewHandler(Config{Token: token, Mounts: map[string]http.Handler{"ui/": mounted("ui"), "metrics": mounted("metrics")}})
	}
	basic := func(pass string) []string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth("dashboard", pass)
		return []string{"Authorization", r.Header.Get("Authorization")}
	}
	tests := []struct {
		name, token, remote, path string
		hdr                       []string
		status                    int
		body                      string // the mount's answer, when it is reached
		challenge                 bool
	}{
		{"subtree root", "", loop4, "/_geoblob/ui/", nil, 200, "ui /_geoblob/ui/", false},
		{"subtree file", "", loop4, "/_geoblob/ui/app.js", nil, 200, "ui /_geoblob/ui/app.js", false},
		{"subtree without slash", "", loop4, "/_geoblob/ui", nil, 200, "ui /_geoblob/ui", false},
		{"prefix is not the subtree", "", loop4, "/_geoblob/uix", nil, 404, "", false},
		{"single path", "", loop4, "/_geoblob/metrics", nil, 200, "metrics /_geoblob/metrics", false},
		{"below a single path", "", loop4, "/_geoblob/metrics/x", nil, 404, "", false},
		{"remote, no token configured", "", remote, "/_geoblob/ui/", nil, 403, "", false},
		{"remote without token: challenged", "s3cret", remote, "/_geoblob/ui", nil, 401, "", true},
		{"remote without token, metrics: challenged", "s3cret", remote, "/_geoblob/metrics", nil, 401, "", true},
		{"remote without token, control endpoint: no challenge", "s3cret", remote, "/_geoblob/faults", nil, 403, "", false},
		{"remote, token as Basic password", "s3cret", remote, "/_geoblob/ui/", basic("s3cret"), 200, "ui /_geoblob/ui/", false},
		{"remote, wrong Basic password: asked again", "s3cret", remote, "/_geoblob/metrics", basic("nope"), 401, "", true},
		{"remote, wrong bearer token on a mount", "s3cret", remote, "/_geoblob/metrics", []string{"Authorization", "Bearer nope"}, 403, "", false},
		{"remote, wrong Basic password, control endpoint", "s3cret", remote, "/_geoblob/faults", basic("nope"), 403, "", false},
		{"remote, bearer token", "s3cret", remote, "/_geoblob/metrics", []string{"Authorization", "Bearer s3cret"}, 200, "metrics /_geoblob/metrics", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			req.Host = "127.0.0.1:10000" // httptest's example.com fails the Host check
			req.RemoteAddr = tt.remote
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			rec := httptest.NewRecorder()
			newH(tt.token).ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
			if tt.body != "" && rec.Body.String() != tt.body {
				t.Errorf("body %q, want %q", rec.Body, tt.body)
			}
			if got := strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic "); got != tt.challenge {
				t.Errorf("WWW-Authenticate %q, challenge wanted: %v", rec.Header().Get("WWW-Authenticate"), tt.challenge)
			}
		})
	}
}

// TestMountChallengeCoversTheControlAPI checks where a browser without the
// token is challenged. A browser volunteers Basic credentials only below
// the directory of the URL that was challenged: a challenge at
// /_geoblob/ui/ would leave the page's calls to /_geoblob/faults without
// them. So it is made at /_geoblob/ui, and deeper requests are sent there.
func TestMountChallengeCoversTheControlAPI(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := NewHandler(Config{Token: "s3cret", Mounts: map[string]http.Handler{"ui/": ok, "metrics": ok}})
	tests := []struct {
		path     string
		status   int
		location string
	}{
		{"/_geoblob/ui", http.StatusUnauthorized, ""},
		{"/_geoblob/metrics", http.StatusUnauthorized, ""},
		{"/_geoblob/ui/", http.StatusFound, "/_geoblob/ui"},
		{"/_geoblob/ui/app.js", http.StatusFound, "/_geoblob/ui"},
		{"/_geoblob/ui/events", http.StatusFound, "/_geoblob/ui"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			req.RemoteAddr = remote
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if challenged := rec.Header().Get("WWW-Authenticate") != ""; challenged != (tt.status == http.StatusUnauthorized) {
				t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestBasicCredentialsRefusedCrossSite checks that the Basic password, which
// a browser attaches to requests other sites' pages make, changes nothing
// unless the request comes from a page of the server itself.
func TestBasicCredentialsRefusedCrossSite(t *testing.T) {
	set := fault.NewSet()
	defer set.Close()
	h := NewHandler(Config{Faults: set, Token: "s3cret"})
	const host = "127.0.0.1:10000"
	body := `{"endpoint":"primary","action":{"status":503}}`
	tests := []struct {
		name, method, path, ctype, body string
		hdr                             []string // name, value pairs
		status                          int
	}{
		{"cross-site form, text/plain", "POST", "/_geoblob/faults", "text/plain", body, []string{"Origin", "https://evil.example"}, 403},
		{"cross-site, JSON", "POST", "/_geoblob/faults", "application/json", body, []string{"Origin", "http://evil.example"}, 403},
		{"no Origin", "POST", "/_geoblob/faults", "application/json", body, nil, 403},
		{"opaque Origin", "POST", "/_geoblob/replication/pause", "application/json", "", []string{"Origin", "null"}, 403},
		{"cross-site DELETE", "DELETE", "/_geoblob/faults", "application/json", "", []string{"Origin", "http://evil.example"}, 403},
		{"same origin", "POST", "/_geoblob/faults", "application/json", body, []string{"Origin", "http://" + host}, 201},
		{"same origin DELETE", "DELETE", "/_geoblob/faults", "application/json", "", []string{"Origin", "http://" + host}, 200},
		{"GET needs no Origin", "GET", "/_geoblob/faults", "", "", nil, 200},
		{"bearer token, no Origin", "POST", "/_geoblob/faults", "application/json", body, []string{"Authorization", "Bearer s3cret"}, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://"+host+tt.path, strings.NewReader(tt.body))
			req.RemoteAddr = remote
			req.SetBasicAuth("dashboard", "s3cret")
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
		})
	}
}
