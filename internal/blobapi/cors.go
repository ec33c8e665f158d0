package blobapi

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/location"
)

// Cross-origin resource sharing, as the Blob service does it (Azure's
// "CORS support for the Azure Storage services" and "Preflight Blob
// Request"):
//
//   - The rules are the <Cors> element of the account's service
//     properties, so they are per account and replicate to the secondary
//     with Set Blob Service Properties. They are evaluated in the order they
//     were set; the first rule whose AllowedOrigins (an exact, case-sensitive
//     origin, or *) and AllowedMethods match is the one used, and no later
//     rule is tried.
//   - A preflight (OPTIONS) needs no credentials and is evaluated against
//     the service, whatever the resource in the path. Without Origin or
//     Access-Control-Request-Method it is 400; with no matching rule, or
//     with a request header the selected rule does not allow, it is 403
//     CorsPreflightFailure; otherwise 200 with the Access-Control headers.
//   - An actual request with an Origin that matches a rule gets
//     Access-Control-Allow-Origin (the origin, or * when the rule allows
//     every origin), Access-Control-Expose-Headers and, for an exact match,
//     Access-Control-Allow-Credentials; GET and HEAD get Vary: Origin as
//     Azure's table says. These headers are added to every answer,
//     error answers included, because a browser hides an answer without
//     them from the page.

// corsRule is one parsed CorsRule.
type corsRule struct {
	origins   []string
	anyOrigin bool // AllowedOrigins contains *
	methods   []string
	allowed   headerSet // AllowedHeaders
	exposed   headerSet // ExposedHeaders
	maxAge    string
}

// headerSet is a list of literal header names and prefixes (an entry
// ending in *; a lone * is the empty prefix, every header).
type headerSet struct {
	literal  []string // lower case
	prefixes []string // lower case, without the *
}

func newHeaderSet(list string) headerSet {
	var s headerSet
	for _, it := range splitList(list) {
		it = strings.ToLower(it)
		if p, ok := strings.CutSuffix(it, "*"); ok {
			s.prefixes = append(s.prefixes, p)
		} else {
			s.literal = append(s.literal, it)
		}
	}
	return s
}

// has reports whether name (any case) is in the set.
func (s headerSet) has(name string) bool {
	name = strings.ToLower(name)
	for _, l := range s.literal {
		if l == name {
			return true
		}
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (r *corsRule) matchOrigin(origin string) bool {
	if r.anyOrigin {
		return true
	}
	for _, o := range r.origins {
		if o == origin {
			return true
		}
	}
	return false
}

func (r *corsRule) matchMethod(m string) bool {
	for _, x := range r.methods {
		if x == m {
			return true
		}
	}
	return false
}

// corsRules parses the <Cors> element of a stored service properties
// document. The document is one the emulator wrote after checking it, so
// a parse failure means no rules.
func corsRules(doc []byte) []corsRule {
	if !bytes.Contains(doc, []byte("<CorsRule>")) {
		return nil
	}
	root, err := parseServiceProperties(doc)
	if err != nil {
		return nil
	}
	cors := root.child("Cors")
	if cors == nil {
		return nil
	}
	rules := make([]corsRule, 0, len(cors.kids))
	for _, k := range cors.kids {
		var r corsRule
		if n := k.child("AllowedOrigins"); n != nil {
			for _, o := range splitList(n.text) {
				if o == "*" {
					r.anyOrigin = true
				} else {
					r.origins = append(r.origins, o)
				}
			}
		}
		if n := k.child("AllowedMethods"); n != nil {
			r.methods = splitList(n.text)
		}
		if n := k.child("AllowedHeaders"); n != nil {
			r.allowed = newHeaderSet(n.text)
		}
		if n := k.child("ExposedHeaders"); n != nil {
			r.exposed = newHeaderSet(n.text)
		}
		if n := k.child("MaxAgeInSeconds"); n != nil {
			r.maxAge = n.text
		}
		rules = append(rules, r)
	}
	return rules
}

// preflight answers an OPTIONS request (Preflight Blob Request). It runs
// before authentication: a preflight carries no credentials.
func (c *call) preflight() {
	origin := c.r.Header.Get("Origin")
	method := c.r.Header.Get("Access-Control-Request-Method")
	for _, h := range [...]struct{ name, value string }{{"Origin", origin}, {"Access-Control-Request-Method", method}} {
		if h.value == "" {
			c.fail(http.StatusBadRequest, "InvalidHeaderValue",
				"A required CORS header is not present: a preflight request needs "+h.name+".",
				azerr.NewDetail("HeaderName", h.name))
			return
		}
	}
	var rules []corsRule
	if c.st != nil {
		rules = c.s.settings.get(c.st, c.addr.Account).cors
	}
	for i := range rules {
		r := &rules[i]
		if !r.matchOrigin(origin) || !r.matchMethod(method) {
			continue
		}
		// The first rule matching origin and method decides: a request
		// header it does not allow fails the preflight.
		reqHeaders := c.r.Header.Values("Access-Control-Request-Headers")
		for _, line := range reqHeaders {
			for _, name := range strings.Split(line, ",") {
				if name = strings.TrimSpace(name); name != "" && !r.allowed.has(name) {
					c.preflightFailed()
					return
				}
			}
		}
		h := c.w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", method)
		if len(reqHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ","))
		}
		h.Set("Access-Control-Max-Age", r.maxAge)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Content-Length", "0")
		c.ok(http.StatusOK)
		return
	}
	c.preflightFailed()
}

func (c *call) preflightFailed() {
	c.fail(http.StatusForbidden, "CorsPreflightFailure", "CORS not enabled or no matching rule found for this request.")
}

// corsWriter adds the CORS headers of an actual request to its answer
// when the answer's headers are written, so that Access-Control-Expose-
// Headers can name the headers the answer really carries.
type corsWriter struct {
	http.ResponseWriter
	rule   *corsRule // the matching rule; nil when none matched
	origin string    // "" for a request without Origin
	vary   bool
	done   bool
}

// corsWrap returns w wrapped to add the CORS headers the account's rules
// give r, or w itself when they give none.
func (c *call) corsWrap(w http.ResponseWriter) http.ResponseWriter {
	origin := c.r.Header.Get("Origin")
	getHead := c.r.Method == http.MethodGet || c.r.Method == http.MethodHead
	if origin == "" && !getHead {
		return w // Azure's table adds nothing here, whatever the rules
	}
	rules := c.s.settings.get(c.st, c.addr.Account).cors
	if len(rules) == 0 {
		return w
	}
	var rule *corsRule
	for i := range rules {
		if (origin != "" && rules[i].matchOrigin(origin) || origin == "" && rules[i].anyOrigin) && rules[i].matchMethod(c.r.Method) {
			rule = &rules[i]
			break
		}
	}
	cw := &corsWriter{ResponseWriter: w, rule: rule, origin: origin}
	switch {
	case rule == nil:
		// Azure's table: with rules set and none matching, GET and HEAD
		// answers vary by Origin; nothing else is added.
		if !getHead {
			return w
		}
		cw.vary = true
	case origin == "":
		// A request without Origin gets the headers only from a rule that
		// allows every origin (Azure's table), and no Vary.
	case rule.anyOrigin:
	default:
		cw.vary = getHead
	}
	return cw
}

func (w *corsWriter) addHeaders() {
	if w.done {
		return
	}
	w.done = true
	h := w.ResponseWriter.Header()
	if w.vary {
		h.Add("Vary", "Origin")
	}
	r := w.rule
	if r == nil {
		return
	}
	if r.anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", w.origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if exp := exposedHeaders(h, r.exposed); exp != "" {
		h.Set("Access-Control-Expose-Headers", exp)
	}
}

// exposedHeaders lists the headers of h the set exposes, and the set's
// literal names (a browser needs them named, not as prefixes).
func exposedHeaders(h http.Header, set headerSet) string {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if l := strings.ToLower(n); !seen[l] {
			seen[l] = true
			names = append(names, n)
		}
	}
	if len(set.prefixes) > 0 {
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				continue
			}
			if set.has(k) {
				add(k)
			}
		}
		// net/http adds Date to the answer after this (azerr leaves it
		// out of the map): name it as one of the answer's headers.
		if _, ok := h["Date"]; !ok && set.has("Date") {
			add("Date")
		}
	}
	for _, l := range set.literal {
		add(l)
	}
	// Map order varies; answer the same list for the same headers.
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return strings.Join(names, ",")
}

func (w *corsWriter) WriteHeader(status int) {
	if status >= 200 {
		w.addHeaders()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *corsWriter) Write(b []byte) (int, error) {
	w.addHeaders()
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps io.Copy's fast path of the underlying writer.
func (w *corsWriter) ReadFrom(r io.Reader) (int64, error) {
	w.addHeaders()
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// Flush lets streamed answers (listings) flush through the wrapper.
func (w *corsWriter) Flush() {
	w.addHeaders()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap serves http.ResponseController.
func (w *corsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// preflightAddress is the address of a preflight whose path names no valid
// resource: a preflight is evaluated against the service, so only the
// account (from the host or the first path segment) matters.
func preflightAddress(host, p string, secondaryHost bool) (Address, error) {
	hostStyle := location.LocalHostStyle(host)
	acct := "/"
	if !hostStyle {
		first, _, _ := strings.Cut(strings.TrimPrefix(strings.ReplaceAll(p, "\\", "/"), "/"), "/")
		acct += first
	}
	return parseAddressStyle(host, acct, nil, secondaryHost, hostStyle)
}
