package blobapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/geoblob/geoblob/internal/azerr"
)

// Request header limits.
//
// Azure Storage documents no error code for oversized request headers: its
// front end (HTTP.sys, "Server: Microsoft-HTTPAPI/2.0") refuses them with a
// bare 400 Bad Request HTML page ("Request Too Long") that carries no
// x-ms-error-code, as quoted for another HTTP.sys-fronted Azure service in
// Azure/azure-sdk-for-net#54313. The emulator keeps the 400 status but
// answers with a documented code from Azure's "Common REST API error codes"
// (InvalidHeaderValue, 400) and the usual error XML and headers, so that
// clients and SDKs see an ordinary Azure error. Metadata beyond Azure's 8 KiB
// limit is answered with MetadataTooLarge (400), as the Blob service does.
const (
	// RequestHeaderLimit is the largest total size of the request header
	// fields the Blob service accepts, counting each field's name, value
	// and four bytes of framing, plus the Host header.
	RequestHeaderLimit = 64 << 10
	// MaxHeaderBytes is the value to give http.Server.MaxHeaderBytes for a
	// server that runs this package's handlers. It is far above
	// RequestHeaderLimit so that requests with oversized headers reach the
	// handler and get an Azure error instead of net/http's plain-text 431.
	MaxHeaderBytes = 1 << 20
)

// checkHeaderSize answers the request with an Azure error and returns false
// when its headers exceed RequestHeaderLimit.
func (s *Server) checkHeaderSize(w http.ResponseWriter, r *http.Request) bool {
	total := len(r.Host) + len("Host: \r\n")
	meta, largest, largestSize := 0, "", 0
	for k, vs := range r.Header {
		for _, v := range vs {
			n := len(k) + len(v) + len(": \r\n")
			total += n
			if n > largestSize {
				largest, largestSize = k, n
			}
			if len(k) >= len(metaPrefix) && strings.EqualFold(k[:len(metaPrefix)], metaPrefix) {
				meta += len(k) - len(metaPrefix) + len(v)
			}
		}
	}
	if total <= RequestHeaderLimit {
		return true
	}
	// Echo no oversized client value (x-ms-version, x-ms-client-request-id)
	// into the answer.
	safe := &http.Request{Method: r.Method, Header: http.Header{}}
	for _, k := range []string{"x-ms-version", "x-ms-client-request-id"} {
		if v := r.Header.Get(k); v != "" && len(v) <= 1024 {
			safe.Header.Set(k, v)
		}
	}
	s.log.Debug("blobapi: request headers too large", "method", r.Method, "path", r.URL.Path, "bytes", total)
	if meta > maxMetadataSize {
		azerr.Write(w, safe, http.StatusBadRequest, "MetadataTooLarge", "The size of the specified metadata exceeds the maximum size permitted.")
		return false
	}
	azerr.Write(w, safe, http.StatusBadRequest, "InvalidHeaderValue",
		fmt.Sprintf("The request headers are too large: %d bytes exceed the limit of %d bytes.", total, RequestHeaderLimit),
		azerr.NewDetail("HeaderName", truncate(largest, 256)))
	return false
}

// truncate shortens s to at most n bytes for use in an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
