// Package azerr writes Azure Storage error responses: the XML body, the
// x-ms-error-code header and the standard response headers that every Blob
// service answer carries. The emulator's REST layer and the server-side fault
// injector both answer through it, so an injected 503 looks exactly like a
// real one to a client.
package azerr

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"math/rand/v2"
	"net/http"
	"time"
)

// DefaultVersion is the x-ms-version the emulator answers with when the
// client did not send one. Any version a client sends is echoed back.
const DefaultVersion = "2025-11-05"

// body is the XML document Azure returns for an error.
type body struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	Extra   []Detail `xml:",any"`
}

// Detail is an extra element of an error body, such as
// <QueryParameterName>comp</QueryParameterName>.
type Detail struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// NewDetail builds a Detail element with the given name and text.
func NewDetail(name, value string) Detail {
	return Detail{XMLName: xml.Name{Local: name}, Value: value}
}

// SetCommonHeaders sets the headers every Blob service response carries:
// x-ms-request-id, x-ms-version, Server and, when the client sent one,
// x-ms-client-request-id. It keeps a request id already set on w.
//
// Date is not set here: net/http writes it on every response whose header
// map has no Date, formatting it without an allocation. Leaving it out of
// the map keeps a Get Blob's response headers at 14 entries, within the
// 16-slot table Go's map (and net/http's copy of it at WriteHeader) would
// otherwise double to 32 slots for a 15th.
//
// It runs on every request, so it writes the map directly under canonical
// names, with the values in one slice.
func SetCommonHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	vals := make([]string, 0, 5)
	set := func(k, v string) {
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if first(h["X-Ms-Request-Id"]) == "" {
		set("X-Ms-Request-Id", NewRequestID())
	}
	v := ""
	if r != nil {
		v = first(r.Header["X-Ms-Version"])
		if id := first(r.Header["X-Ms-Client-Request-Id"]); id != "" {
			set("X-Ms-Client-Request-Id", id)
		}
	}
	if v == "" {
		v = DefaultVersion
	}
	set("X-Ms-Version", v)
	set("Server", "geoblob")
}

// SetDate sets Date to the current time on the header of an answer that
// does not go out through net/http's ResponseWriter (a connection
// rewrite, a response a client transport makes up): net/http writes Date
// on its own answers, and SetCommonHeaders leaves it to it.
func SetDate(h http.Header) {
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
}

// first is the value http.Header.Get returns for the values vs.
func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// NewRequestID returns a random (version 4) UUID in its text form, as
// Azure's x-ms-request-id values are. A request id must be unique, not
// secret, so it comes from the runtime's per-thread generator (math/rand/v2:
// ChaCha8, seeded from the operating system) rather than from a read of
// crypto/rand, with one allocation for the text.
func NewRequestID() string {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// Write sends an Azure error response with the given status, error code and
// message. For HEAD requests, and for 304 Not Modified, the body is omitted
// as Azure does, but the x-ms-error-code header is still set.
func Write(w http.ResponseWriter, r *http.Request, status int, code, message string, details ...Detail) {
	SetCommonHeaders(w, r)
	h := w.Header()
	h.Set("x-ms-error-code", code)
	if r != nil && r.Method == http.MethodHead || status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	reqID := h.Get("x-ms-request-id")
	b := body{Code: code, Message: message + "\nRequestId:" + reqID + "\nTime:" + time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"), Extra: details}
	out, err := xml.Marshal(b)
	if err != nil { // cannot happen for these types; fall back to a bare status
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
