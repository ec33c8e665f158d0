package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"
)

// udSAS builds a user delegation SAS from fields, signing stringToSign
// (spelled out by the test from Azure's layouts, not by the verifier's
// code) with the key the emulator derives for the key fields.
func udSAS(t *testing.T, fields url.Values, stringToSign string) string {
	t.Helper()
	skt, err := time.Parse(time.RFC3339, fields.Get("skt"))
	if err != nil {
		t.Fatal(err)
	}
	ske, err := time.Parse(time.RFC3339, fields.Get("ske"))
	if err != nil {
		t.Fatal(err)
	}
	account := fields.Get("account") // the test's own field: the account the key is for
	if account == "" {
		account = "devstoreaccount1"
	}
	key := DeriveUserDelegationKey(devKeyBytes(t), account, fields.Get("skoid"), fields.Get("sktid"), skt, ske, fields.Get("sks"), fields.Get("skv"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(stringToSign))
	q := url.Values{}
	for k, v := range fields {
		if v[0] != "" && k != "account" {
			q[k] = v
		}
	}
	q.Set("sig", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return q.Encode()
}

func TestUserDelegationSAS(t *testing.T) {
	const (
		oid = "00000000-0000-4000-8000-000000000001"
		tid = "00000000-0000-4000-8000-000000000de7"
		skt = "2025-06-01T11:00:00Z"
		ske = "2025-06-01T13:00:00Z"
		st  = "2025-06-01T11:30:00Z"
		se  = "2025-06-01T12:30:00Z"
		res = "/blob/devstoreaccount1/c/b"
	)
	fields := func(sv, sr string, extra ...string) url.Values {
		v := url.Values{"sp": {"r"}, "st": {st}, "se": {se}, "sr": {sr}, "sv": {sv},
			"skoid": {oid}, "sktid": {tid}, "skt": {skt}, "ske": {ske}, "sks": {"b"}, "skv": {sv}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	lines := func(l ...string) string { return strings.Join(l, "\n") }
	key := lines(oid, tid, skt, ske, "b")
	// Azure's layouts, field by field.
	v2019 := lines("r", st, se, res, key, "2019-12-12", "", "", "2019-12-12", "b", "", "", "", "", "", "")
	v2020 := lines("r", st, se, res, key, "2020-02-10", "agent", "", "corr", "", "", "2020-02-10", "b", "", "", "", "", "", "")
	v2021 := lines("r", st, se, res, key, "2020-12-06", "", "", "", "", "", "2020-12-06", "b", "", "", "", "", "", "", "")
	// azblob v1.8's layout: delegated user fields, ses, srh and srq.
	newest := lines("r", st, se, res, key, "2026-12-06", "", "", "", "", "", "", "", "2026-12-06", "b", "", "", "", "", "", "", "", "", "")
	aliased := lines("r", st, se, "/blob/example/c/b", key, "2020-12-06", "", "", "", "", "", "2020-12-06", "b", "", "", "", "", "", "", "")
	container := lines("rl", st, se, "/blob/devstoreaccount1/c", key, "2020-12-06", "", "", "", "", "", "2020-12-06", "c", "", "", "", "", "", "", "")
	cf := fields("2020-12-06", "c", "sp", "rl")

	runSASCases(t, []sasCase{
		{name: "2019-12-12 layout", query: udSAS(t, fields("2019-12-12", "b"), v2019), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "2020-02-10 layout with saoid and scid", query: udSAS(t, fields("2020-02-10", "b", "saoid", "agent", "scid", "corr"), v2020), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "2020-12-06 layout", query: udSAS(t, fields("2020-12-06", "b"), v2021), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "azblob's newest layout", query: udSAS(t, fields("2026-12-06", "b"), newest), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "container SAS lists", path: "/devstoreaccount1/c", query: udSAS(t, cf, container), perms: []Permission{PermList}, rt: ResourceContainer, want: ServiceSAS},
		{name: "container SAS on a blob of its container", query: udSAS(t, cf, container), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "container SAS on another container", path: "/devstoreaccount1/d/b", query: udSAS(t, cf, container), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "Signature did not match"},
		{name: "wrong layout for sv", query: udSAS(t, fields("2019-12-12", "b"), v2021), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "Signature did not match"},
		{name: "permission not granted", query: udSAS(t, fields("2020-12-06", "b"), v2021), perms: []Permission{PermWrite}, wantCode: CodePermissionMismatch},
		{name: "service-level request", path: "/devstoreaccount1", query: udSAS(t, cf, container), perms: []Permission{PermList}, rt: ResourceService, wantCode: CodeResourceTypeMismatch},
		{name: "missing key field", query: udSAS(t, fields("2020-12-06", "b", "skv", ""), v2021), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "missing skv"},
		{name: "delegated user", query: udSAS(t, fields("2026-12-06", "b", "sduoid", oid), newest), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "sduoid"},
		{name: "signed request headers", query: udSAS(t, fields("2026-12-06", "b", "srh", "x-ms-foo"), newest), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "srh"},
		{name: "snapshot SAS", query: udSAS(t, fields("2020-12-06", "bs"), v2021), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "sr=bs"},
		{name: "key for another service", query: udSAS(t, fields("2020-12-06", "b", "sks", "q"), lines("r", st, se, res, oid, tid, skt, ske, "q", "2020-12-06", "", "", "", "", "", "2020-12-06", "b", "", "", "", "", "", "", "")), perms: []Permission{PermRead}, wantCode: CodeServiceMismatch},
		{name: "key not yet valid", query: udSAS(t, fields("2020-12-06", "b", "skt", "2025-06-01T12:30:00Z"), lines("r", st, se, res, oid, tid, "2025-06-01T12:30:00Z", ske, "b", "2020-12-06", "", "", "", "", "", "2020-12-06", "b", "", "", "", "", "", "", "")), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "user delegation key is not valid"},
		{name: "key expired", query: udSAS(t, fields("2020-12-06", "b", "ske", "2025-06-01T11:59:00Z"), lines("r", st, se, res, oid, tid, skt, "2025-06-01T11:59:00Z", "b", "2020-12-06", "", "", "", "", "", "2020-12-06", "b", "", "", "", "", "", "", "")), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "user delegation key is not valid"},
		// httptest's requests go to example.com, whose first label azblob
		// would name the account of a path-style URL.
		{name: "resource named after the host", query: udSAS(t, fields("2020-12-06", "b"), aliased), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "another account with the same key", path: "/other/c/b", query: udSAS(t, fields("2020-12-06", "b"), aliased), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "Signature did not match"},
		{name: "stored access policy", query: udSAS(t, fields("2020-12-06", "b", "si", "p1"), v2021), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "stored access policy"},
	})
}

// TestDeriveUserDelegationKey: the key depends on every field, on the
// account's name and on its key, and on nothing else.
func TestDeriveUserDelegationKey(t *testing.T) {
	start := time.Date(2025, 6, 1, 11, 0, 0, 0, time.UTC)
	expiry := start.Add(time.Hour)
	key := devKeyBytes(t)
	base := DeriveUserDelegationKey(key, "a", "o", "t", start, expiry, "b", "2025-01-05")
	if again := DeriveUserDelegationKey(key, "a", "o", "t", start.In(time.FixedZone("x", 3600)), expiry, "b", "2025-01-05"); !bytes.Equal(base, again) {
		t.Fatal("the same instant in another zone gives another key")
	}
	other := append([]byte{}, key...)
	other[0] ^= 1
	for name, k := range map[string][]byte{
		"account key": DeriveUserDelegationKey(other, "a", "o", "t", start, expiry, "b", "2025-01-05"),
		"account":     DeriveUserDelegationKey(key, "a2", "o", "t", start, expiry, "b", "2025-01-05"),
		"oid":         DeriveUserDelegationKey(key, "a", "o2", "t", start, expiry, "b", "2025-01-05"),
		"tid":         DeriveUserDelegationKey(key, "a", "o", "t2", start, expiry, "b", "2025-01-05"),
		"start":       DeriveUserDelegationKey(key, "a", "o", "t", start.Add(time.Second), expiry, "b", "2025-01-05"),
		"expiry":      DeriveUserDelegationKey(key, "a", "o", "t", start, expiry.Add(time.Second), "b", "2025-01-05"),
		"service":     DeriveUserDelegationKey(key, "a", "o", "t", start, expiry, "bq", "2025-01-05"),
		"version":     DeriveUserDelegationKey(key, "a", "o", "t", start, expiry, "b", "2025-05-05"),
		"field split": DeriveUserDelegationKey(key, "a", "o\nt", "", start, expiry, "b", "2025-01-05"),
	} {
		if bytes.Equal(k, base) {
			t.Errorf("changing the %s keeps the key", name)
		}
	}
}
