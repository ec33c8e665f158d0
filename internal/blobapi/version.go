package blobapi

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/geoblob/geoblob/internal/azerr"
)

// minServiceVersion is the earliest x-ms-version the emulator accepts:
// Azure Storage service versions are dates in YYYY-MM-DD form, and the
// Blob service's earliest supported one is 2009-09-19.
const minServiceVersion = "2009-09-19"

// validServiceVersion reports whether v is a service version the emulator
// accepts: a real calendar date in YYYY-MM-DD form, no earlier than
// minServiceVersion. Azure refuses versions it does not know, later ones
// included; the emulator cannot know the versions Azure will publish, so
// it accepts every well-formed date from minServiceVersion on, and new
// SDKs keep working.
func validServiceVersion(v string) bool {
	if p := lastValidVersion.Load(); p != nil && *p == v {
		return true // a client sends the same version on every request
	}
	if !versionDate(v, minServiceVersion) {
		return false
	}
	// A copy, so that only this branch puts a string on the heap: taking
	// v's address would move v there on every call, cache hits included.
	last := v
	lastValidVersion.Store(&last)
	return true
}

// versionDate reports whether v is a service version from earliest on: a
// real calendar date in YYYY-MM-DD form.
func versionDate(v, earliest string) bool {
	if len(v) != len(time.DateOnly) {
		return false
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return false
	}
	return v >= earliest // fixed-width dates compare as strings
}

// lastValidVersion is the version validServiceVersion last accepted.
var lastValidVersion atomic.Pointer[string]

// checkVersion answers a request whose x-ms-version is malformed or too
// old with Azure's 400 InvalidHeaderValue, naming the header and its value,
// and returns false. A request without the header passes.
func (s *Server) checkVersion(w http.ResponseWriter, r *http.Request) bool {
	vs := r.Header["X-Ms-Version"] // net/http stores names canonical
	if len(vs) == 0 || len(vs) == 1 && validServiceVersion(vs[0]) {
		return true
	}
	value := strings.Join(vs, ",")
	// Echo the emulator's own version, not the refused one.
	safe := &http.Request{Method: r.Method, Header: http.Header{}}
	if id := r.Header.Get("x-ms-client-request-id"); id != "" {
		safe.Header.Set("x-ms-client-request-id", id)
	}
	s.log.Debug("blobapi: invalid x-ms-version", "method", r.Method, "path", r.URL.Path, "value", truncate(value, 64))
	azerr.Write(w, safe, http.StatusBadRequest, "InvalidHeaderValue",
		"The value for one of the HTTP headers is not in the correct format.",
		azerr.NewDetail("HeaderName", "x-ms-version"), azerr.NewDetail("HeaderValue", truncate(value, 256)))
	return false
}
