package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// The Shared Key check of every request first tries the one string-to-sign
// the official SDKs produce (the first of sharedKeyStrings), built into a
// reused buffer and signed with a reused HMAC; only when that does not
// match does it build every candidate. The result is the same: the fast
// string is always one of the candidates (appendFirstSharedKeyString
// declines the requests where it could not be sure of that), and a request
// is accepted when any candidate matches.

// maxFastHeaders bounds the x-ms- headers the fast path sorts on the stack.
const maxFastHeaders = 24

// signer is a reused string-to-sign buffer and HMAC of one key.
type signer struct {
	key []byte
	mac hash.Hash
	buf []byte
	sum []byte
}

var signers = sync.Pool{New: func() any { return new(signer) }}

// matchesFirstSharedKeyString reports whether want is the HMAC under key of
// the SDKs' Shared Key string-to-sign for req. False means only that this
// one string did not match, or that the request is unusual enough for the
// fast path to decline it; the caller then tries every candidate.
func matchesFirstSharedKeyString(req *Request, key, want []byte) bool {
	s := signers.Get().(*signer)
	defer signers.Put(s)
	var ok bool
	s.buf, ok = appendFirstSharedKeyString(s.buf[:0], req)
	if cap(s.buf) > 64<<10 {
		s.buf = nil // a rare huge request does not pin its buffer
	}
	if !ok {
		return false
	}
	if s.mac == nil || !hmac.Equal(s.key, key) {
		s.key = append(s.key[:0], key...)
		s.mac = hmac.New(sha256.New, s.key)
	} else {
		s.mac.Reset()
	}
	s.mac.Write(s.buf)
	s.sum = s.mac.Sum(s.sum[:0]) // kept with the signer: no allocation
	return hmac.Equal(s.sum, want)
}

// appendFirstSharedKeyString appends sharedKeyStrings(req)[0] to dst. ok is
// false, and dst unusable, for a request whose x-ms- header names are not
// all in net/http's canonical form (which is what lets them be sorted and
// lower-cased here without building the name map sharedKeyStrings builds),
// or that carries more than maxFastHeaders of them.
func appendFirstSharedKeyString(dst []byte, req *Request) ([]byte, bool) {
	r := req.HTTP
	h := r.Header
	var names [maxFastHeaders]string
	n := 0
	for k := range h {
		if len(k) < 5 || !strings.EqualFold(k[:5], "x-ms-") {
			if strings.TrimSpace(k) != k {
				return dst, false // might be an x-ms- name once trimmed
			}
			continue
		}
		if n == len(names) || !canonicalToken(k) {
			return dst, false
		}
		// Insertion sort, in the SDKs' order. compareHeaderNames ignores
		// case, and canonical names differ in more than case, so this is
		// the order of their lower-case forms.
		i := n
		for i > 0 && compareHeaderNames(names[i-1], k) > 0 {
			names[i] = names[i-1]
			i--
		}
		names[i] = k
		n++
	}

	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendLine(dst, h["Content-Encoding"])
	dst = appendLine(dst, h["Content-Language"])
	length := headerValue(h["Content-Length"])
	if length == "" && r.ContentLength > 0 {
		dst = strconv.AppendInt(dst, r.ContentLength, 10)
		dst = append(dst, '\n')
	} else {
		if v := headerValue(h["X-Ms-Version"]); length == "0" && (v == "" || v >= "2015-02-21") {
			length = ""
		}
		dst = append(dst, length...)
		dst = append(dst, '\n')
	}
	dst = appendLine(dst, h["Content-Md5"])
	dst = appendLine(dst, h["Content-Type"])
	if headerValue(h["X-Ms-Date"]) == "" {
		dst = appendLine(dst, h["Date"])
	} else {
		dst = append(dst, '\n')
	}
	dst = appendLine(dst, h["If-Modified-Since"])
	dst = appendLine(dst, h["If-Match"])
	dst = appendLine(dst, h["If-None-Match"])
	dst = appendLine(dst, h["If-Unmodified-Since"])
	dst = appendLine(dst, h["Range"])

	for _, k := range names[:n] {
		for i := 0; i < len(k); i++ {
			c := k[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		dst = append(dst, ':')
		for i, v := range h[k] {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, v...)
		}
		dst = append(dst, '\n')
	}

	// The first candidate path of candidatePaths: as sent on the wire.
	p, ok := wirePath(r.RequestURI)
	if !ok {
		p = r.URL.EscapedPath()
	}
	if p == "" {
		p = "/"
	}
	dst = append(dst, '/')
	dst = append(dst, req.Account...)
	dst = append(dst, p...)
	if raw := r.URL.RawQuery; raw != "" {
		dst = append(dst, canonicalQuery(raw, true)...)
	}
	return dst, true
}

// headerValue is what http.Header.Get returns for the values vs.
func headerValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// appendLine appends the first of vs (as http.Header.Get returns it) and a
// newline.
func appendLine(dst []byte, vs []string) []byte {
	return append(append(dst, headerValue(vs)...), '\n')
}

// canonicalToken reports whether k is a header name in net/http's
// canonical form: token characters only, a letter upper case exactly at
// the start and after a hyphen. Two different such names differ in more
// than case.
func canonicalToken(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		upper := i == 0 || k[i-1] == '-'
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				return false
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				return false
			}
		case '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
