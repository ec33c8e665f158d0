package control

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
		{"remote without token: challenged", "s3cret", remote, "/_geoblob/ui/", nil, 401, "", true},
		{"remote without token, control endpoint: no challenge", "s3cret", remote, "/_geoblob/faults", nil, 403, "", false},
		{"remote, token as Basic password", "s3cret", remote, "/_geoblob/ui/", basic("s3cret"), 200, "ui /_geoblob/ui/", false},
		{"remote, wrong Basic password", "s3cret", remote, "/_geoblob/metrics", basic("nope"), 403, "", false},
		{"remote, bearer token", "s3cret", remote, "/_geoblob/metrics", []string{"Authorization", "Bearer s3cret"}, 200, "metrics /_geoblob/metrics", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
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
