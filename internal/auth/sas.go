package auth

import (
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// newestLayout is the signed version whose string-to-sign layout is the
// newest this package knows. The Go SDK signs every SAS with it whatever sv
// it writes, so it is also tried as a fallback for older sv values.
const newestLayout = "2020-12-06"

// userDelegationParams are the query parameters that mark a user delegation
// SAS.
var userDelegationParams = []string{"skoid", "sktid", "skt", "ske", "sks", "skv"}

// verifySAS checks an account or service SAS carried in the query q.
func verifySAS(req *Request, q url.Values) (Method, error) {
	want, err := base64.StdEncoding.DecodeString(q.Get("sig"))
	if err != nil {
		// A client that did not escape '+' in the query turned it into a space.
		want, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(q.Get("sig"), " ", "+"))
	}
	if err != nil || len(want) == 0 {
		return Anonymous, fail(CodeAuthenticationFailed, "The signature (sig) is not valid base64.")
	}
	if len(req.Key) == 0 {
		return Anonymous, fail(CodeAuthenticationFailed, "The account has no key configured.")
	}
	if q.Get("sv") == "" {
		return Anonymous, fail(CodeAuthenticationFailed, "The signed version (sv) is missing.")
	}
	switch {
	case q.Has("skoid") || q.Has("sktid") || q.Has("skt") || q.Has("ske") || q.Has("sks") || q.Has("skv"):
		return verifyUserDelegationSAS(req, q, want) // userdelegation.go
	case q.Has("sr"):
		return verifyServiceSAS(req, q, want)
	case q.Has("ss") || q.Has("srt"):
		return verifyAccountSAS(req, q, want)
	}
	return Anonymous, fail(CodeAuthenticationFailed, "The shared access signature has neither a signed resource (sr) nor signed services and resource types (ss, srt).")
}

// verifyAccountSAS checks an account SAS.
func verifyAccountSAS(req *Request, q url.Values, want []byte) (Method, error) {
	sv := q.Get("sv")
	if sv < "2015-04-05" {
		return Anonymous, fail(CodeAuthenticationFailed, "An account SAS needs a signed version (sv) of 2015-04-05 or later.")
	}
	fields := []string{req.Account, q.Get("sp"), q.Get("ss"), q.Get("srt"), q.Get("st"), q.Get("se"), q.Get("sip"), q.Get("spr"), sv}
	withScope := strings.Join(append(fields, q.Get("ses")), "\n") + "\n"
	candidates := []string{withScope}
	if sv < "2020-12-06" {
		candidates = []string{strings.Join(fields, "\n") + "\n", withScope}
	}
	if !matchesAny(req.Key, want, candidates) {
		return Anonymous, signatureMismatch(candidates[0])
	}
	switch {
	case q.Has("si"):
		return Anonymous, fail(CodeAuthenticationFailed, "An account SAS cannot use a stored access policy (si).")
	case q.Get("sp") == "":
		return Anonymous, fail(CodeAuthenticationFailed, "The signed permissions (sp) are missing.")
	case q.Get("ss") == "" || q.Get("srt") == "":
		return Anonymous, fail(CodeAuthenticationFailed, "An account SAS needs signed services (ss) and signed resource types (srt).")
	}
	if err := checkValidity(req, q); err != nil {
		return Anonymous, err
	}
	if !strings.Contains(q.Get("ss"), "b") {
		return Anonymous, fail(CodeServiceMismatch, "The signed services (ss) do not include the Blob service (b).")
	}
	if rt := req.resourceType(); !strings.ContainsRune(q.Get("srt"), rune(rt)) {
		return Anonymous, fail(CodeResourceTypeMismatch, "The signed resource types (srt) do not include '"+string(rune(rt))+"'.")
	}
	if err := checkPermissions(q.Get("sp"), req.Permissions); err != nil {
		return Anonymous, err
	}
	return AccountSAS, nil
}

// checkSignedResource accepts a blob (b) or container (c) signed resource
// and refuses every other one, naming the field as what in the message.
func checkSignedResource(sr, what string) error {
	switch sr {
	case "b", "c":
		return nil
	case "bs", "bv":
		return fail(CodeAuthenticationFailed, "Snapshot and version shared access signatures (sr=bs, sr=bv) are not supported by the emulator.")
	case "d":
		return fail(CodeAuthenticationFailed, "Directory shared access signatures (sr=d) are not supported by the emulator.")
	}
	return fail(CodeAuthenticationFailed, what+" must be b (blob) or c (container).")
}

// verifyServiceSAS checks a blob (sr=b) or container (sr=c) service SAS.
func verifyServiceSAS(req *Request, q url.Values, want []byte) (Method, error) {
	sr, sv := q.Get("sr"), q.Get("sv")
	if err := checkSignedResource(sr, "The signed resource (sr)"); err != nil {
		return Anonymous, err
	}
	if sv < "2012-02-12" {
		return Anonymous, fail(CodeAuthenticationFailed, "A service SAS needs a signed version (sv) of 2012-02-12 or later.")
	}
	if req.Container == "" {
		return Anonymous, fail(CodeResourceTypeMismatch, "A service SAS cannot authorize a service-level operation; use an account SAS.")
	}
	if sr == "b" && req.Blob == "" {
		return Anonymous, fail(CodeResourceTypeMismatch, "A blob SAS (sr=b) cannot authorize a container operation.")
	}

	// Layouts before 2013-08-15 sign no response header overrides: a SAS
	// that carries one must verify in a layout that covers it, or anyone
	// could add rsct=text/html to an old SAS.
	ownLayout := sv >= "2013-08-15" || !hasResponseOverrides(q)
	var candidates []string
	for _, name := range canonicalNames(req, sr, sv) {
		if ownLayout {
			candidates = appendUnique(candidates, serviceStringToSign(sv, sv, name, q))
		}
		candidates = appendUnique(candidates, serviceStringToSign(newestLayout, sv, name, q))
	}
	if !matchesAny(req.Key, want, candidates) {
		return Anonymous, signatureMismatch(candidates[0])
	}

	start, expiry, err := sasTimes(q)
	if err != nil {
		return Anonymous, err
	}
	perms := q.Get("sp")
	if si := q.Get("si"); si != "" {
		if req.LookupPolicy == nil {
			return Anonymous, fail(CodeAuthenticationFailed, "The signed identifier (si) does not name a stored access policy of the container.")
		}
		p, ok := req.LookupPolicy(req.Container, si)
		if !ok {
			return Anonymous, fail(CodeAuthenticationFailed, "The signed identifier (si) does not name a stored access policy of the container.")
		}
		var both []string
		if !start.IsZero() && !p.Start.IsZero() {
			both = append(both, "signed start (st)")
		}
		if !expiry.IsZero() && !p.Expiry.IsZero() {
			both = append(both, "signed expiry (se)")
		}
		if perms != "" && p.Permission != "" {
			both = append(both, "signed permissions (sp)")
		}
		if len(both) > 0 {
			return Anonymous, fail(CodeAuthenticationFailed, "The "+strings.Join(both, ", ")+" may be given in the SAS or in the stored access policy, not in both.")
		}
		if start.IsZero() {
			start = p.Start
		}
		if expiry.IsZero() {
			expiry = p.Expiry
		}
		if perms == "" {
			perms = p.Permission
		}
	}
	if perms == "" {
		return Anonymous, fail(CodeAuthenticationFailed, "The signed permissions (sp) are missing.")
	}
	if err := checkWindow(req.Now, start, expiry); err != nil {
		return Anonymous, err
	}
	if err := checkNetwork(req.HTTP, q); err != nil {
		return Anonymous, err
	}
	if err := checkPermissions(perms, req.Permissions); err != nil {
		return Anonymous, err
	}
	return ServiceSAS, nil
}

// canonicalNames returns the canonicalized resource of a service SAS for the
// request's target: "/blob/account/container[/blob]" from 2015-02-21, and
// "/account/container[/blob]" before. Like the SDKs, a backslash in a blob
// name may have been signed as a slash.
func canonicalNames(req *Request, sr, sv string) []string {
	prefix := "/blob/" + req.Account + "/" + req.Container
	if sv < "2015-02-21" {
		prefix = "/" + req.Account + "/" + req.Container
	}
	if sr == "c" {
		return []string{prefix}
	}
	names := []string{prefix + "/" + req.Blob}
	if strings.Contains(req.Blob, `\`) {
		names = append(names, prefix+"/"+strings.ReplaceAll(req.Blob, `\`, "/"))
	}
	return names
}

// serviceStringToSign lays out a service SAS string-to-sign as defined for
// signed version layout, with sv as the version field and canonical as the
// canonicalized resource.
func serviceStringToSign(layout, sv, canonical string, q url.Values) string {
	f := []string{q.Get("sp"), q.Get("st"), q.Get("se"), canonical, q.Get("si")}
	if layout >= "2015-04-05" {
		f = append(f, q.Get("sip"), q.Get("spr"))
	}
	f = append(f, sv)
	if layout >= "2018-11-09" {
		f = append(f, q.Get("sr"), "") // signed snapshot time: empty for sr=b and sr=c
	}
	if layout >= "2020-12-06" {
		f = append(f, q.Get("ses"))
	}
	if layout >= "2013-08-15" {
		f = append(f, q.Get("rscc"), q.Get("rscd"), q.Get("rsce"), q.Get("rscl"), q.Get("rsct"))
	}
	return strings.Join(f, "\n")
}

// signatureMismatch reports a SAS whose signature does not verify. The
// string-to-sign holds only the SAS's own fields, never a secret.
func signatureMismatch(stringToSign string) *Error {
	return fail(CodeAuthenticationFailed, "Signature did not match. String to sign used was "+strconv.Quote(stringToSign)+".")
}

// checkValidity checks the times (st, se) and the network (sip, spr) of
// an account or user delegation SAS against the request.
func checkValidity(req *Request, q url.Values) error {
	start, expiry, err := sasTimes(q)
	if err != nil {
		return err
	}
	if err := checkWindow(req.Now, start, expiry); err != nil {
		return err
	}
	return checkNetwork(req.HTTP, q)
}

// sasTimes parses st and se; a missing one is the zero time.
func sasTimes(q url.Values) (start, expiry time.Time, err error) {
	if s := q.Get("st"); s != "" {
		if start, err = parseSASTime(s); err != nil {
			return start, expiry, fail(CodeAuthenticationFailed, "The signed start (st) is not a valid ISO 8601 UTC time.")
		}
	}
	if s := q.Get("se"); s != "" {
		if expiry, err = parseSASTime(s); err != nil {
			return start, expiry, fail(CodeAuthenticationFailed, "The signed expiry (se) is not a valid ISO 8601 UTC time.")
		}
	}
	return start, expiry, nil
}

// sasTimeFormats are the ISO 8601 forms Azure accepts for st and se.
var sasTimeFormats = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", time.DateOnly}

// parseSASTime parses a SAS time in any of the accepted forms.
func parseSASTime(s string) (time.Time, error) {
	var err error
	for _, layout := range sasTimeFormats {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// checkWindow fails unless now lies within [start, expiry]. A zero start is
// no lower bound; a zero expiry is an error, since every SAS must expire.
func checkWindow(now, start, expiry time.Time) error {
	if expiry.IsZero() {
		return fail(CodeAuthenticationFailed, "The signed expiry (se) is missing.")
	}
	if !start.IsZero() && !start.Before(expiry) {
		return fail(CodeAuthenticationFailed, "The signed expiry (se) must be after the signed start (st).")
	}
	if (!start.IsZero() && now.Before(start)) || now.After(expiry) {
		const f = "2006-01-02T15:04:05Z"
		s := "(none)"
		if !start.IsZero() {
			s = start.UTC().Format(f)
		}
		return fail(CodeAuthenticationFailed, "Signature not valid in the specified time frame: Start ["+s+"] - Expiry ["+expiry.UTC().Format(f)+"] - Current ["+now.UTC().Format(f)+"].")
	}
	return nil
}

// checkNetwork checks the signed IP range (sip) and protocol (spr).
func checkNetwork(r *http.Request, q url.Values) error {
	switch q.Get("spr") {
	case "", "https,http", "http,https":
	case "https":
		if r.TLS == nil {
			return fail(CodeProtocolMismatch, "The shared access signature allows HTTPS only and the request used HTTP.")
		}
	default:
		return fail(CodeAuthenticationFailed, "The signed protocol (spr) must be https or https,http.")
	}
	sip := q.Get("sip")
	if sip == "" {
		return nil
	}
	lo, hi, ok := parseIPRange(sip)
	if !ok {
		return fail(CodeAuthenticationFailed, "The signed IP (sip) is not a valid address or address range.")
	}
	addr, ok := remoteAddr(r.RemoteAddr)
	if !ok || addr.BitLen() != lo.BitLen() || addr.Less(lo) || hi.Less(addr) {
		src := "unknown"
		if ok {
			src = addr.String()
		}
		return fail(CodeSourceIPMismatch, "The source IP "+src+" is not within the signed IP range "+sip+".")
	}
	return nil
}

// parseIPRange parses "a" or "a-b" into an inclusive range.
func parseIPRange(s string) (lo, hi netip.Addr, ok bool) {
	first, last, isRange := strings.Cut(s, "-")
	lo, err := netip.ParseAddr(strings.TrimSpace(first))
	if err != nil {
		return lo, hi, false
	}
	lo = lo.Unmap()
	if !isRange {
		return lo, lo, true
	}
	hi, err = netip.ParseAddr(strings.TrimSpace(last))
	if err != nil {
		return lo, hi, false
	}
	hi = hi.Unmap()
	if hi.BitLen() != lo.BitLen() || hi.Less(lo) {
		return lo, hi, false
	}
	return lo, hi, true
}

// remoteAddr parses an http.Request RemoteAddr ("ip:port" or "ip").
func remoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// hasResponseOverrides reports whether q carries a response header
// override (rscc, rscd, rsce, rscl or rsct).
func hasResponseOverrides(q url.Values) bool {
	for _, k := range []string{"rscc", "rscd", "rsce", "rscl", "rsct"} {
		if q.Has(k) {
			return true
		}
	}
	return false
}

// SASResponseHeaders returns the response headers a service SAS overrides
// (rscc, rscd, rsce, rscl, rsct), keyed by the header they replace. Use it
// only for a request Authorize accepted as ServiceSAS: the overrides are
// covered by its signature. q is the query as ParseQuery returns it.
func SASResponseHeaders(q url.Values) http.Header {
	h := http.Header{}
	for param, header := range map[string]string{
		"rscc": "Cache-Control",
		"rscd": "Content-Disposition",
		"rsce": "Content-Encoding",
		"rscl": "Content-Language",
		"rsct": "Content-Type",
	} {
		if v := q.Get(param); v != "" {
			h.Set(header, v)
		}
	}
	return h
}
