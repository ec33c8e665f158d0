package auth

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/geoblob/geoblob/internal/location"
)

// verifySharedKey checks an Authorization header of the form
// "SharedKey account:signature" or "SharedKeyLite account:signature".
func verifySharedKey(req *Request, header string) (Method, error) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	method := SharedKey
	switch scheme {
	case "SharedKey":
	case "SharedKeyLite":
		method = SharedKeyLite
	case "Bearer":
		return Anonymous, fail(CodeAuthenticationFailed, "Bearer tokens (Microsoft Entra ID) are not supported by the emulator; use Shared Key or a shared access signature.")
	default:
		return Anonymous, fail(CodeAuthenticationFailed, "The Authorization header scheme is not supported; use SharedKey or SharedKeyLite.")
	}
	account, sig, ok := strings.Cut(strings.TrimSpace(cred), ":")
	if !ok || account == "" || sig == "" {
		return Anonymous, fail(CodeAuthenticationFailed, "The Authorization header must have the form '"+scheme+" account:signature'.")
	}
	if account != req.Account {
		return Anonymous, fail(CodeAuthenticationFailed, "The account named in the Authorization header ("+strconv.Quote(account)+") is not the account of the request URL ("+strconv.Quote(req.Account)+").")
	}
	// An HMAC-SHA256 signature is 44 base64 characters; decoding into an
	// array keeps the common case off the heap.
	var sigBuf [64]byte
	var want []byte
	var err error
	if base64.StdEncoding.DecodedLen(len(sig)) <= len(sigBuf) {
		var n int
		n, err = base64.StdEncoding.Decode(sigBuf[:], []byte(sig))
		want = sigBuf[:n]
	} else {
		want, err = base64.StdEncoding.DecodeString(sig)
	}
	if err != nil {
		return Anonymous, fail(CodeAuthenticationFailed, "The signature in the Authorization header is not valid base64.")
	}
	if len(req.Key) == 0 {
		return Anonymous, fail(CodeAuthenticationFailed, "The account has no key configured.")
	}
	h := req.HTTP.Header
	if h.Get("X-Ms-Date") == "" && h.Get("Date") == "" {
		return Anonymous, fail(CodeAuthenticationFailed, "The request must carry an x-ms-date or a Date header.")
	}
	// The SDKs' string-to-sign first, without building the others.
	if method != SharedKey || !matchesFirstSharedKeyString(req, req.Key, want) {
		var candidates []string
		if method == SharedKey {
			candidates = sharedKeyStrings(req)
		} else {
			candidates = sharedKeyLiteStrings(req)
		}
		if !matchesAny(req.Key, want, candidates) {
			return Anonymous, fail(CodeAuthenticationFailed, "The signature in the Authorization header is not the same as any signature computed for this request and account key.")
		}
	}
	if err := checkRequestTime(req, h); err != nil {
		return Anonymous, err
	}
	return method, nil
}

// checkRequestTime refuses a signed request whose time (x-ms-date, which
// wins over Date as in Azure) is not a valid HTTP date or lies more than
// req.MaxClockSkew from req.Now, so that a captured request cannot be
// replayed for ever.
func checkRequestTime(req *Request, h http.Header) error {
	skew := req.MaxClockSkew
	if skew == 0 {
		skew = DefaultMaxClockSkew
	}
	if skew < 0 {
		return nil
	}
	name := "x-ms-date"
	v := h.Get("X-Ms-Date")
	if v == "" {
		name, v = "Date", h.Get("Date")
	}
	t, err := parseRequestTime(v)
	if err != nil {
		return fail(CodeAuthenticationFailed, "The "+name+" header is not a valid HTTP date (RFC 1123).")
	}
	switch d := t.Sub(req.Now); {
	case d < -skew:
		return fail(CodeAuthenticationFailed, "Request date header too old: "+strconv.Quote(v)+" is more than "+skew.String()+" before the server time "+req.Now.UTC().Format(http.TimeFormat)+".")
	case d > skew:
		return fail(CodeAuthenticationFailed, "Request date header too far in the future: "+strconv.Quote(v)+" is more than "+skew.String()+" after the server time "+req.Now.UTC().Format(http.TimeFormat)+".")
	}
	return nil
}

// parsedTime is one request time and what http.ParseTime made of it.
type parsedTime struct {
	text string
	t    time.Time
}

// lastRequestTime is the last request time parsed: requests of the same
// second carry the same text.
var lastRequestTime atomic.Pointer[parsedTime]

// parseRequestTime is http.ParseTime, remembering the last valid time.
func parseRequestTime(v string) (time.Time, error) {
	if p := lastRequestTime.Load(); p != nil && p.text == v {
		return p.t, nil
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return t, err
	}
	lastRequestTime.Store(&parsedTime{text: strings.Clone(v), t: t})
	return t, nil
}

// sharedKeyStrings returns every plausible Shared Key string-to-sign for the
// request, the one the official SDKs produce first.
func sharedKeyStrings(req *Request) []string {
	r := req.HTTP
	h := r.Header
	length := h.Get("Content-Length")
	if length == "" && r.ContentLength > 0 {
		length = strconv.FormatInt(r.ContentLength, 10)
	}
	if v := h.Get("x-ms-version"); length == "0" && (v == "" || v >= "2015-02-21") {
		length = ""
	}
	var out []string
	for _, date := range signedDates(h) {
		prefix := strings.Join([]string{
			r.Method,
			h.Get("Content-Encoding"),
			h.Get("Content-Language"),
			length,
			h.Get("Content-MD5"),
			h.Get("Content-Type"),
			date,
			h.Get("If-Modified-Since"),
			h.Get("If-Match"),
			h.Get("If-None-Match"),
			h.Get("If-Unmodified-Since"),
			h.Get("Range"),
		}, "\n") + "\n"
		for _, headers := range canonicalHeaderBlocks(h) {
			for _, res := range canonicalResources(req, false) {
				out = appendUnique(out, prefix+headers+res)
			}
		}
	}
	return out
}

// sharedKeyLiteStrings returns every plausible Shared Key Lite
// string-to-sign for the request.
func sharedKeyLiteStrings(req *Request) []string {
	h := req.HTTP.Header
	var out []string
	for _, date := range signedDates(h) {
		prefix := strings.Join([]string{req.HTTP.Method, h.Get("Content-MD5"), h.Get("Content-Type"), date}, "\n") + "\n"
		for _, headers := range canonicalHeaderBlocks(h) {
			for _, res := range canonicalResources(req, true) {
				out = appendUnique(out, prefix+headers+res)
			}
		}
	}
	return out
}

// signedDates returns the values the Date line of the string-to-sign may
// have: empty when x-ms-date is present (as the specification and the SDKs
// do), with the Date header as a fallback for clients that sign it anyway.
func signedDates(h http.Header) []string {
	d := h.Get("Date")
	if h.Get("x-ms-date") == "" {
		return []string{d}
	}
	if d == "" {
		return []string{""}
	}
	return []string{"", d}
}

// canonicalHeaderBlocks returns the CanonicalizedHeaders block, each header
// followed by a newline, in the SDKs' order and then in byte order. With no
// x-ms- headers it returns both the empty block and a lone newline, which is
// what joining an empty element with newlines produces.
func canonicalHeaderBlocks(h http.Header) []string {
	values := map[string][]string{}
	var names []string
	for k, v := range h {
		name := strings.ToLower(strings.TrimSpace(k))
		if !strings.HasPrefix(name, "x-ms-") {
			continue
		}
		if _, seen := values[name]; !seen {
			names = append(names, name)
		}
		values[name] = append(values[name], v...)
	}
	if len(names) == 0 {
		return []string{"", "\n"}
	}
	block := func() string {
		var b strings.Builder
		for _, n := range names {
			b.WriteString(n)
			b.WriteByte(':')
			b.WriteString(strings.Join(values[n], ","))
			b.WriteByte('\n')
		}
		return b.String()
	}
	slices.SortFunc(names, compareHeaderNames)
	out := []string{block()}
	slices.Sort(names)
	return appendUnique(out, block())
}

// canonicalResources returns the CanonicalizedResource candidates: "/" +
// account + path for each plausible form of the path, followed by the
// canonicalized query (all parameters for Shared Key, only comp for Shared
// Key Lite).
func canonicalResources(req *Request, lite bool) []string {
	var queries []string
	raw := req.HTTP.URL.RawQuery
	if lite {
		q, _ := ParseQuery(raw)
		if q.Has("comp") {
			queries = []string{"?comp=" + q.Get("comp")}
		} else {
			queries = []string{""}
		}
	} else {
		queries = []string{canonicalQuery(raw, true)}
		if strings.Contains(raw, "+") {
			queries = appendUnique(queries, canonicalQuery(raw, false))
		}
	}
	var out []string
	for _, p := range candidatePaths(req.HTTP, req.Account) {
		for _, q := range queries {
			out = append(out, "/"+req.Account+p+q)
		}
	}
	return out
}

// candidatePaths returns the forms of the request path a client may have
// signed: as sent on the wire, as Go re-escapes it, decoded, and each of
// those without the "-secondary" suffix on the account segment. A
// host-style request (ACCOUNT[-secondary].blob.localhost) has no account
// segment: its first segment is a container, whatever its name, so it is
// never stripped.
func candidatePaths(r *http.Request, account string) []string {
	var paths []string
	add := func(p string) {
		if p == "" {
			p = "/"
		}
		paths = appendUnique(paths, p)
	}
	if p, ok := wirePath(r.RequestURI); ok {
		add(p)
	}
	add(r.URL.EscapedPath())
	add(r.URL.Path)
	if location.LocalHostStyle(r.Host) {
		return paths
	}
	secondary := "/" + account + location.SecondarySuffix
	for _, p := range paths {
		if p == secondary || strings.HasPrefix(p, secondary+"/") {
			add("/" + account + p[len(secondary):])
		}
	}
	return paths
}

// wirePath extracts the path of a request target exactly as it was sent.
func wirePath(target string) (string, bool) {
	if target == "" || target == "*" {
		return "", false
	}
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if strings.HasPrefix(target, "/") {
		return target, true
	}
	// absolute-form: scheme://authority/path
	_, rest, ok := strings.Cut(target, "://")
	if !ok {
		return "", false
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:], true
	}
	return "/", true
}

// canonicalQuery canonicalizes a raw query for Shared Key: parameter names
// lowercased and sorted, values decoded, several values of one name sorted
// and joined by commas, each parameter on its own line. plusIsSpace chooses
// between form decoding (Go, .NET) and plain percent-decoding (JavaScript).
func canonicalQuery(raw string, plusIsSpace bool) string {
	if raw == "" {
		return ""
	}
	params := map[string][]string{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k = strings.ToLower(unescape(k, plusIsSpace))
		params[k] = append(params[k], unescape(v, plusIsSpace))
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		vs := params[n]
		slices.Sort(vs)
		b.WriteByte('\n')
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(vs, ","))
	}
	return b.String()
}

// unescape percent-decodes s, leaving it as is when it is malformed.
func unescape(s string, plusIsSpace bool) string {
	var (
		u   string
		err error
	)
	if plusIsSpace {
		u, err = url.QueryUnescape(s)
	} else {
		u, err = url.PathUnescape(s)
	}
	if err != nil {
		return s
	}
	return u
}

// primaryOrder lists, in ascending order, the characters that count at the
// first level of the header-name comparison used by the Azure SDKs; every
// other character (notably the hyphen and the apostrophe) is ignored at that level. Letters
// compare without regard to case.
const primaryOrder = "!#$%&*.^_`|~+0123456789abcdefghijklmnopqrstuvwxyz"

// primaryWeights holds primaryWeight for every byte.
var primaryWeights = func() (w [256]uint8) {
	for c := range 256 {
		l := byte(c)
		if 'A' <= l && l <= 'Z' {
			l += 'a' - 'A'
		}
		w[c] = uint8(strings.IndexByte(primaryOrder, l) + 1)
	}
	return w
}()

// primaryWeight is the first-level weight of c; 0 means ignored.
func primaryWeight(c byte) int { return int(primaryWeights[c]) }

// tieWeight is the second-level weight of the character at i of s: 1 past the
// end, 2 for an apostrophe, 3 for a hyphen, 0 for anything else.
func tieWeight(s string, i int) int {
	switch {
	case i >= len(s):
		return 1
	case s[i] == '\'':
		return 2
	case s[i] == '-':
		return 3
	}
	return 0
}

// compareHeaderNames orders header names the way the Azure Storage SDKs (and
// the service) do: a culture-style comparison that first ignores hyphens
// and apostrophes, then breaks ties by where those characters fall.
func compareHeaderNames(a, b string) int {
	if c := comparePrimary(a, b); c != 0 {
		return c
	}
	return compareTies(a, b)
}

// comparePrimary compares a and b by their first-level weights, skipping
// ignored characters; a string that runs out first is the smaller.
func comparePrimary(a, b string) int {
	i, j := 0, 0
	for {
		for i < len(a) && primaryWeight(a[i]) == 0 {
			i++
		}
		for j < len(b) && primaryWeight(b[j]) == 0 {
			j++
		}
		switch {
		case i == len(a) && j == len(b):
			return 0
		case i == len(a):
			return -1
		case j == len(b):
			return 1
		}
		if wa, wb := primaryWeight(a[i]), primaryWeight(b[j]); wa != wb {
			if wa < wb {
				return -1
			}
			return 1
		}
		i++
		j++
	}
}

// compareTies breaks a first-level tie by walking both strings position by
// position: where one has an ordinary character and the other a hyphen, an
// apostrophe or its end, the ordinary one is the smaller; between the others
// the end sorts first, then the apostrophe, then the hyphen.
func compareTies(a, b string) int {
	for k := 0; ; k++ {
		wa, wb := tieWeight(a, k), tieWeight(b, k)
		switch {
		case wa == 1 && wb == 1:
			return 0
		case wa == wb:
			continue
		case wa == 0:
			return -1
		case wb == 0:
			return 1
		case wa < wb:
			return -1
		default:
			return 1
		}
	}
}
