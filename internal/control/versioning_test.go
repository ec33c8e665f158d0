package control

import (
	"sync/atomic"
	"testing"
)

type fakeVersioning struct{ on atomic.Bool }

func (f *fakeVersioning) Versioning() bool      { return f.on.Load() }
func (f *fakeVersioning) SetVersioning(on bool) { f.on.Store(on) }

// TestVersioningEndpoint: GET reports blob versioning, PUT changes it;
// a bad body, another method or a server without the setting are refused,
// and remote clients are refused as on every endpoint.
func TestVersioningEndpoint(t *testing.T) {
	v := &fakeVersioning{}
	h := NewHandler(Config{Versioning: v})
	tests := []struct {
		name, method, body, remote string
		code                       int
		enabled                    bool // after the call
	}{
		{"get", "GET", "", loop4, 200, false},
		{"enable", "PUT", `{"enabled":true}`, loop4, 200, true},
		{"get on", "GET", "", loop6, 200, true},
		{"unknown field", "PUT", `{"enabled":false,"x":1}`, loop4, 400, true},
		{"not JSON", "PUT", `on`, loop4, 400, true},
		{"post", "POST", `{"enabled":false}`, loop4, 405, true},
		{"remote", "PUT", `{"enabled":false}`, remote, 403, true},
		{"disable", "PUT", `{"enabled":false}`, loop4, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, h, tt.remote, tt.method, "/_geoblob/versioning", tt.body)
			if a.code != tt.code {
				t.Fatalf("%d %s, want %d", a.code, a.raw, tt.code)
			}
			if tt.code == 200 && a.body["enabled"] != tt.enabled {
				t.Fatalf("answer %s, want enabled %v", a.raw, tt.enabled)
			}
			if v.Versioning() != tt.enabled {
				t.Fatalf("setting %v, want %v", v.Versioning(), tt.enabled)
			}
		})
	}
	if a := call(t, NewHandler(Config{}), loop4, "GET", "/_geoblob/versioning", ""); a.code != 404 {
		t.Fatalf("without the setting: %d", a.code)
	}
}
