package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// sasNow is the fixed time the SAS tests run at.
var sasNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// goSAS signs v (an azblob AccountSignatureValues or BlobSignatureValues)
// with the account key of the given account and returns the query string.
func goSAS(t *testing.T, account, key string, v any) string {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		t.Fatal(err)
	}
	var qp sas.QueryParameters
	switch v := v.(type) {
	case sas.AccountSignatureValues:
		qp, err = v.SignWithSharedKey(cred)
	case sas.BlobSignatureValues:
		qp, err = v.SignWithSharedKey(cred)
	default:
		t.Fatalf("unsupported %T", v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return qp.Encode()
}

// handSAS builds a SAS query from fields, signing stringToSign with the
// development key, as a client written from the REST specification would.
func handSAS(t *testing.T, fields url.Values, stringToSign string) string {
	t.Helper()
	mac := hmac.New(sha256.New, devKeyBytes(t))
	mac.Write([]byte(stringToSign))
	q := url.Values{}
	for k, v := range fields {
		if v[0] != "" {
			q[k] = v
		}
	}
	q.Set("sig", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return q.Encode()
}

type sasCase struct {
	name      string
	path      string // request path; default /devstoreaccount1/c/b
	query     string
	perms     []Permission
	rt        ResourceType
	remote    string // RemoteAddr; default 192.0.2.10:5555
	tls       bool
	policies  map[string]Policy
	want      Method
	wantCode  string
	wantInMsg string
}

func runSASCases(t *testing.T, cases []sasCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/devstoreaccount1/c/b"
			}
			r := httptest.NewRequest(http.MethodGet, path+"?"+tc.query, nil)
			r.RemoteAddr = "192.0.2.10:5555"
			if tc.remote != "" {
				r.RemoteAddr = tc.remote
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			req := authRequest(t, r)
			req.Now = sasNow
			req.Permissions = tc.perms
			req.ResourceType = tc.rt
			if tc.policies != nil {
				req.LookupPolicy = func(cont, id string) (Policy, bool) {
					p, ok := tc.policies[cont+"/"+id]
					return p, ok
				}
			}
			m, err := Authorize(req)
			if tc.wantCode == "" {
				if err != nil || m != tc.want {
					t.Fatalf("got (%v, %v), want (%v, nil)", m, err, tc.want)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != tc.wantCode {
				t.Fatalf("got (%v, %v), want code %s", m, err, tc.wantCode)
			}
			if !errors.Is(err, &Error{Code: tc.wantCode}) {
				t.Fatalf("errors.Is does not match by code")
			}
			if tc.wantInMsg != "" && !strings.Contains(ae.Message, tc.wantInMsg) {
				t.Fatalf("message %q does not mention %q", ae.Message, tc.wantInMsg)
			}
			sig, _ := url.ParseQuery(tc.query)
			if s := sig.Get("sig"); s != "" && strings.Contains(err.Error(), s) || strings.Contains(err.Error(), devKey) {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestAccountSAS(t *testing.T) {
	start, expiry := sasNow.Add(-time.Hour), sasNow.Add(time.Hour)
	acct := func(mod func(*sas.AccountSignatureValues)) string {
		v := sas.AccountSignatureValues{
			Protocol:      sas.ProtocolHTTPSandHTTP,
			StartTime:     start,
			ExpiryTime:    expiry,
			Permissions:   "rwdlacup",
			ResourceTypes: "sco",
		}
		if mod != nil {
			mod(&v)
		}
		return goSAS(t, devAccount, devKey, v)
	}
	valid := acct(nil)
	// Hand-made account SAS in the pre-2020-12-06 layout (no ses line).
	old := url.Values{"sv": {"2019-12-12"}, "ss": {"bf"}, "srt": {"o"}, "sp": {"r"}, "se": {"2025-06-01T13:00:00Z"}, "spr": {"https,http"}}
	oldSAS := handSAS(t, old, strings.Join([]string{devAccount, "r", "bf", "o", "", "2025-06-01T13:00:00Z", "", "https,http", "2019-12-12", ""}, "\n"))
	noBlob := url.Values{"sv": {"2020-12-06"}, "ss": {"qt"}, "srt": {"o"}, "sp": {"r"}, "se": {"2025-06-01T13:00:00Z"}}
	noBlobSAS := handSAS(t, noBlob, strings.Join([]string{devAccount, "r", "qt", "o", "", "2025-06-01T13:00:00Z", "", "", "2020-12-06", "", ""}, "\n"))

	runSASCases(t, []sasCase{
		{name: "read blob", query: valid, perms: []Permission{PermRead}, rt: ResourceObject, want: AccountSAS},
		{name: "resource type inferred", query: valid, perms: []Permission{PermRead}, want: AccountSAS},
		{name: "list containers", path: "/devstoreaccount1", query: valid + "&comp=list", perms: []Permission{PermList}, rt: ResourceService, want: AccountSAS},
		{name: "secondary path", path: "/devstoreaccount1-secondary/c/b", query: valid, perms: []Permission{PermRead}, want: AccountSAS},
		{name: "several permissions", query: valid, perms: []Permission{PermRead, PermWrite, PermDelete}, want: AccountSAS},
		{name: "older sv signed by the Go SDK", query: acct(func(v *sas.AccountSignatureValues) { v.Version = "2019-12-12" }), perms: []Permission{PermRead}, want: AccountSAS},
		{name: "older sv signed by the spec", query: oldSAS, perms: []Permission{PermRead}, want: AccountSAS},
		{name: "encryption scope", query: acct(func(v *sas.AccountSignatureValues) { v.EncryptionScope = "scope1" }), perms: []Permission{PermRead}, want: AccountSAS},
		{name: "no start time", query: acct(func(v *sas.AccountSignatureValues) { v.StartTime = time.Time{} }), perms: []Permission{PermRead}, want: AccountSAS},
		{name: "wrong key", query: goSAS(t, devAccount, otherKey, sas.AccountSignatureValues{ExpiryTime: expiry, Permissions: "r", ResourceTypes: "o"}), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "Signature did not match"},
		{name: "signed for another account", query: goSAS(t, "otheraccount", devKey, sas.AccountSignatureValues{ExpiryTime: expiry, Permissions: "r", ResourceTypes: "o"}), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "tampered permissions", query: strings.Replace(acct(func(v *sas.AccountSignatureValues) { v.Permissions = "r" }), "sp=r", "sp=rw", 1), perms: []Permission{PermWrite}, wantCode: CodeAuthenticationFailed},
		{name: "tampered expiry", query: strings.Replace(valid, "se=2025-06-01T13%3A00%3A00Z", "se=2026-06-01T13%3A00%3A00Z", 1), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "signature flipped", query: flipSig(t, valid), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "expired", query: acct(func(v *sas.AccountSignatureValues) {
			v.StartTime, v.ExpiryTime = start.Add(-time.Hour), sasNow.Add(-time.Second)
		}), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "time frame"},
		{name: "not yet valid", query: acct(func(v *sas.AccountSignatureValues) { v.StartTime = sasNow.Add(time.Second) }), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "time frame"},
		{name: "missing permission", query: acct(func(v *sas.AccountSignatureValues) { v.Permissions = "rl" }), perms: []Permission{PermWrite}, wantCode: CodePermissionMismatch},
		{name: "one of several permissions missing", query: acct(func(v *sas.AccountSignatureValues) { v.Permissions = "rl" }), perms: []Permission{PermRead, PermDelete}, wantCode: CodePermissionMismatch},
		{name: "wrong resource type", query: acct(func(v *sas.AccountSignatureValues) { v.ResourceTypes = "sc" }), perms: []Permission{PermRead}, rt: ResourceObject, wantCode: CodeResourceTypeMismatch},
		{name: "service op with object SAS", path: "/devstoreaccount1", query: acct(func(v *sas.AccountSignatureValues) { v.ResourceTypes = "o" }) + "&restype=service&comp=properties", perms: []Permission{PermRead}, wantCode: CodeResourceTypeMismatch},
		{name: "wrong service", query: noBlobSAS, perms: []Permission{PermRead}, wantCode: CodeServiceMismatch},
		{name: "https only over http", query: acct(func(v *sas.AccountSignatureValues) { v.Protocol = sas.ProtocolHTTPS }), perms: []Permission{PermRead}, wantCode: CodeProtocolMismatch},
		{name: "https only over https", query: acct(func(v *sas.AccountSignatureValues) { v.Protocol = sas.ProtocolHTTPS }), perms: []Permission{PermRead}, tls: true, want: AccountSAS},
		{name: "ip in range", query: acct(func(v *sas.AccountSignatureValues) {
			v.IPRange = sas.IPRange{Start: net.ParseIP("192.0.2.0"), End: net.ParseIP("192.0.2.255")}
		}), perms: []Permission{PermRead}, want: AccountSAS},
		{name: "single ip", query: acct(func(v *sas.AccountSignatureValues) { v.IPRange = sas.IPRange{Start: net.ParseIP("192.0.2.10")} }), perms: []Permission{PermRead}, want: AccountSAS},
		{name: "ipv4-mapped remote", query: acct(func(v *sas.AccountSignatureValues) { v.IPRange = sas.IPRange{Start: net.ParseIP("192.0.2.10")} }), remote: "[::ffff:192.0.2.10]:1", perms: []Permission{PermRead}, want: AccountSAS},
		{name: "ip outside range", query: acct(func(v *sas.AccountSignatureValues) {
			v.IPRange = sas.IPRange{Start: net.ParseIP("10.0.0.0"), End: net.ParseIP("10.0.0.255")}
		}), perms: []Permission{PermRead}, wantCode: CodeSourceIPMismatch},
		{name: "stored policy not allowed", query: valid + "&si=p1", perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "user delegation SAS without its key fields", query: valid + "&skoid=00000000-0000-0000-0000-000000000000", perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "user delegation SAS is missing sktid"},
		{name: "no sv", query: strings.Replace(valid, "sv=", "xv=", 1), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "neither sr nor ss", query: "sv=2020-12-06&sig=AAAA", perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
	})
}

// flipSig changes one character of the sig parameter of the query q.
func flipSig(t *testing.T, q string) string {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	s := []byte(v.Get("sig"))
	if s[0] == 'A' {
		s[0] = 'B'
	} else {
		s[0] = 'A'
	}
	v.Set("sig", string(s))
	return v.Encode()
}

func TestServiceSAS(t *testing.T) {
	start, expiry := sasNow.Add(-time.Hour), sasNow.Add(time.Hour)
	blobSAS := func(mod func(*sas.BlobSignatureValues)) string {
		v := sas.BlobSignatureValues{
			Protocol:      sas.ProtocolHTTPSandHTTP,
			StartTime:     start,
			ExpiryTime:    expiry,
			Permissions:   "rw",
			ContainerName: "c",
			BlobName:      "b",
		}
		if mod != nil {
			mod(&v)
		}
		return goSAS(t, devAccount, devKey, v)
	}
	contSAS := func(mod func(*sas.BlobSignatureValues)) string {
		return blobSAS(func(v *sas.BlobSignatureValues) {
			v.BlobName, v.Permissions = "", "rl"
			if mod != nil {
				mod(v)
			}
		})
	}
	policyOnly := func(perms string, exp time.Time) string {
		return blobSAS(func(v *sas.BlobSignatureValues) {
			v.Identifier, v.Permissions, v.StartTime, v.ExpiryTime = "pol1", perms, time.Time{}, exp
		})
	}
	policies := map[string]Policy{
		"c/pol1":    {Start: start, Expiry: expiry, Permission: "r"},
		"c/partial": {Permission: "r"},
	}
	// Hand-made service SAS in each older layout, for blob "c/b".
	canon := "/blob/devstoreaccount1/c/b"
	se := "2025-06-01T13:00:00Z"
	layouts := []struct {
		sv  string
		sts string
	}{
		{"2012-02-12", strings.Join([]string{"r", "", se, "/devstoreaccount1/c/b", "", "2012-02-12"}, "\n")},
		{"2013-08-15", strings.Join([]string{"r", "", se, "/devstoreaccount1/c/b", "", "2013-08-15", "", "", "", "", ""}, "\n")},
		{"2015-04-05", strings.Join([]string{"r", "", se, canon, "", "", "", "2015-04-05", "", "", "", "", ""}, "\n")},
		{"2018-11-09", strings.Join([]string{"r", "", se, canon, "", "", "", "2018-11-09", "b", "", "", "", "", "", ""}, "\n")},
		{"2020-12-06", strings.Join([]string{"r", "", se, canon, "", "", "", "2020-12-06", "b", "", "", "", "", "", "", ""}, "\n")},
	}
	cases := []sasCase{
		{name: "blob SAS read", query: blobSAS(nil), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "blob SAS on secondary", path: "/devstoreaccount1-secondary/c/b", query: blobSAS(nil), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "blob SAS with header overrides", query: blobSAS(func(v *sas.BlobSignatureValues) {
			v.ContentType, v.ContentDisposition, v.CacheControl = "text/csv", "attachment; filename=\"a b.csv\"", "no-cache"
		}), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "blob SAS with encryption scope", query: blobSAS(func(v *sas.BlobSignatureValues) { v.EncryptionScope = "s1" }), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "blob name with specials", path: "/devstoreaccount1/c/dir/a%20b+c%23.txt", query: blobSAS(func(v *sas.BlobSignatureValues) { v.BlobName = "dir/a b+c#.txt" }), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "older sv signed by the Go SDK", query: blobSAS(func(v *sas.BlobSignatureValues) { v.Version = "2019-12-12" }), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "blob SAS on another blob", path: "/devstoreaccount1/c/other", query: blobSAS(nil), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "blob SAS on another container", path: "/devstoreaccount1/d/b", query: blobSAS(nil), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "blob SAS on its container", path: "/devstoreaccount1/c", query: blobSAS(nil) + "&restype=container&comp=list", perms: []Permission{PermList}, wantCode: CodeResourceTypeMismatch},
		{name: "blob SAS missing permission", query: blobSAS(nil), perms: []Permission{PermDelete}, wantCode: CodePermissionMismatch},
		{name: "blob SAS expired", query: blobSAS(func(v *sas.BlobSignatureValues) { v.ExpiryTime = sasNow.Add(-time.Minute) }), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "blob SAS not yet valid", query: blobSAS(func(v *sas.BlobSignatureValues) { v.StartTime = sasNow.Add(time.Minute) }), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "blob SAS https only", query: blobSAS(func(v *sas.BlobSignatureValues) { v.Protocol = sas.ProtocolHTTPS }), perms: []Permission{PermRead}, wantCode: CodeProtocolMismatch},
		{name: "blob SAS tampered override", query: strings.Replace(blobSAS(func(v *sas.BlobSignatureValues) { v.ContentType = "text/plain" }), "rsct=text%2Fplain", "rsct=text%2Fhtml", 1), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "container SAS list", path: "/devstoreaccount1/c", query: contSAS(nil) + "&restype=container&comp=list", perms: []Permission{PermList}, want: ServiceSAS},
		{name: "container SAS blob read", path: "/devstoreaccount1/c/any/blob", query: contSAS(nil), perms: []Permission{PermRead}, want: ServiceSAS},
		{name: "container SAS other container", path: "/devstoreaccount1/d/b", query: contSAS(nil), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "container SAS service op", path: "/devstoreaccount1", query: contSAS(nil) + "&comp=list", perms: []Permission{PermList}, wantCode: CodeResourceTypeMismatch},
		{name: "container SAS write denied", path: "/devstoreaccount1/c/b", query: contSAS(nil), perms: []Permission{PermWrite}, wantCode: CodePermissionMismatch},
		{name: "stored policy", query: policyOnly("", time.Time{}), perms: []Permission{PermRead}, policies: policies, want: ServiceSAS},
		{name: "stored policy grants too little", query: policyOnly("", time.Time{}), perms: []Permission{PermWrite}, policies: policies, wantCode: CodePermissionMismatch},
		{name: "stored policy partial, SAS has expiry", query: blobSAS(func(v *sas.BlobSignatureValues) {
			v.Identifier, v.Permissions, v.StartTime = "partial", "", time.Time{}
		}), perms: []Permission{PermRead}, policies: policies, want: ServiceSAS},
		{name: "stored policy partial, no expiry anywhere", query: policyOnly("", time.Time{}), perms: []Permission{PermRead}, policies: map[string]Policy{"c/pol1": {Permission: "r"}}, wantCode: CodeAuthenticationFailed, wantInMsg: "expiry"},
		{name: "stored policy field in both", query: policyOnly("r", time.Time{}), perms: []Permission{PermRead}, policies: policies, wantCode: CodeAuthenticationFailed, wantInMsg: "not in both"},
		{name: "stored policy unknown", query: policyOnly("", time.Time{}), perms: []Permission{PermRead}, policies: map[string]Policy{}, wantCode: CodeAuthenticationFailed},
		{name: "stored policy without lookup", query: policyOnly("", time.Time{}), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
		{name: "stored policy expired", query: policyOnly("", time.Time{}), perms: []Permission{PermRead}, policies: map[string]Policy{"c/pol1": {Expiry: sasNow.Add(-time.Second), Permission: "r"}}, wantCode: CodeAuthenticationFailed},
		{name: "stored policy of another container", path: "/devstoreaccount1/d/b", query: policyOnly("", time.Time{}), perms: []Permission{PermRead}, policies: policies, wantCode: CodeAuthenticationFailed},
		{name: "snapshot SAS rejected", query: blobSAS(func(v *sas.BlobSignatureValues) { v.SnapshotTime = sasNow.Add(-time.Hour) }), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "not supported"},
		{name: "version SAS rejected", query: blobSAS(func(v *sas.BlobSignatureValues) { v.BlobVersion = "2025-01-01T00:00:00.0000000Z" }), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "not supported"},
		{name: "directory SAS rejected", query: blobSAS(func(v *sas.BlobSignatureValues) { v.Directory = "dir" }), perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed, wantInMsg: "not supported"},
		{name: "bad sig encoding", query: "sv=2020-12-06&sr=b&sp=r&se=2025-06-01T13:00:00Z&sig=%25%25", perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed},
	}
	for _, l := range layouts {
		q := handSAS(t, url.Values{"sv": {l.sv}, "sr": {"b"}, "sp": {"r"}, "se": {se}}, l.sts)
		cases = append(cases, sasCase{name: "layout " + l.sv, query: q, perms: []Permission{PermRead}, want: ServiceSAS})
	}
	// The 2012-02-12 layout signs no response header overrides: one added
	// to such a SAS is not covered by its signature and must not verify.
	q2012 := handSAS(t, url.Values{"sv": {layouts[0].sv}, "sr": {"b"}, "sp": {"r"}, "se": {se}}, layouts[0].sts)
	cases = append(cases, sasCase{name: "override added to a 2012-02-12 SAS", query: q2012 + "&rsct=text%2Fhtml", perms: []Permission{PermRead}, wantCode: CodeAuthenticationFailed})
	runSASCases(t, cases)
}

func TestSASResponseHeaders(t *testing.T) {
	q, err := ParseQuery("rsct=text%2Fcsv&RSCC=no-cache&sig=x")
	if err != nil {
		t.Fatal(err)
	}
	h := SASResponseHeaders(q)
	if h.Get("Content-Type") != "text/csv" || h.Get("Cache-Control") != "no-cache" || len(h) != 2 {
		t.Fatalf("got %v", h)
	}
}

func TestParseSASTime(t *testing.T) {
	want := time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC)
	for _, s := range []string{"2025-06-01T13:00:00Z", "2025-06-01T13:00:00.0000000Z", "2025-06-01T13:00Z", "2025-06-01T15:00:00+02:00"} {
		got, err := parseSASTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got (%v, %v)", s, got, err)
		}
	}
	if got, err := parseSASTime("2025-06-01"); err != nil || !got.Equal(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date only: got (%v, %v)", got, err)
	}
	for _, s := range []string{"", "tomorrow", "2025-13-01T00:00:00Z"} {
		if _, err := parseSASTime(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}
