package dashboard

import (
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/geoblob/geoblob/internal/control"
)

// Path is where the dashboard is served.
const Path = control.PathPrefix + "ui/"

//go:embed assets
var assets embed.FS

// errClosed is returned by subscribe after Close.
var errClosed = errors.New("dashboard: closed")

// writeTimeout bounds one write to an event stream: a page that stops
// reading is cut off instead of holding its goroutine.
const writeTimeout = 10 * time.Second

// Handler serves the page under Path and its event stream at
// Path+"events". Mount it behind the control API's access checks
// (control.Config.Mounts).
func (h *Hub) Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, Path)
		if !ok {
			if r.URL.Path+"/" == Path {
				http.Redirect(w, r, Path, http.StatusMovedPermanently)
				return
			}
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed; use GET", http.StatusMethodNotAllowed)
			return
		}
		if rest == "events" {
			h.serveEvents(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + rest
		files.ServeHTTP(w, r2)
	})
}

// serveEvents streams a snapshot, then every tick, until the page goes,
// the hub drops it or the hub closes.
func (h *Hub) serveEvents(w http.ResponseWriter, r *http.Request) {
	s, snap, err := h.subscribe()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer h.unsubscribe(s)
	rc := http.NewResponseController(w)
	// The connection may serve other requests after the stream: leave it
	// without a deadline.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	first, err := encodeEvent("snapshot", snap)
	if err != nil || !write(append([]byte("retry: 2000\n\n"), first...)) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.gone:
			return
		case <-h.done:
			return
		case b := <-s.ch:
			if !write(b) {
				return
			}
		}
	}
}
