package blobapi

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"time"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/azerr"
)

// opGetUserDelegationKey is Get User Delegation Key: POST
// /?restype=service&comp=userdelegationkey. Only a bearer token may ask
// for a key. It changes nothing, so the secondary answers it too.
var opGetUserDelegationKey = &op{name: "GetUserDelegationKey", perm: auth.PermRead, rt: auth.ResourceService, run: (*call).getUserDelegationKey}

// keyInfo is the request body of Get User Delegation Key.
type keyInfo struct {
	XMLName          xml.Name `xml:"KeyInfo"`
	Start            *string  `xml:"Start"`
	Expiry           *string  `xml:"Expiry"`
	DelegatedUserTid *string  `xml:"DelegatedUserTid"`
}

// getUserDelegationKey answers Get User Delegation Key with a key for the
// token's object and tenant, derived from the account key
// (auth.DeriveUserDelegationKey) so that it needs no storage and verifies
// after a restart. The key's window is the request's Start (now when
// absent) to Expiry, at most seven days from now on the emulator clock.
func (c *call) getUserDelegationKey() {
	if c.auth != auth.Bearer {
		c.fail(http.StatusForbidden, auth.CodeAuthenticationFailed,
			"Server failed to authenticate the request. Make sure the value of the Authorization header is formed correctly including the signature.",
			azerr.NewDetail("AuthenticationErrorDetail", "Only authentication scheme Bearer is supported"))
		return
	}
	oid, tid, ok := auth.BearerIdentity(c.r)
	if !ok {
		c.fail(http.StatusForbidden, auth.CodeAuthenticationFailed,
			"Server failed to authenticate the request: the bearer token names no object (oid claim) to delegate for.")
		return
	}
	body, ok := c.readXMLBody()
	if !ok {
		return
	}
	if err := wellFormed(body, "KeyInfo"); err != nil {
		c.invalidXML(err)
		return
	}
	var ki keyInfo
	if err := xml.Unmarshal(body, &ki); err != nil {
		c.invalidXML(err)
		return
	}
	if ki.DelegatedUserTid != nil {
		c.fail(http.StatusBadRequest, "UnsupportedXmlNode", "The XML provided contains a node that is not supported: the geoblob emulator does not model delegated user tenants.",
			azerr.NewDetail("XmlNodeName", "DelegatedUserTid"))
		return
	}
	now := c.now.UTC().Truncate(time.Second)
	start := now
	if ki.Start != nil {
		t, ok := c.keyTime("Start", *ki.Start)
		if !ok {
			return
		}
		start = t
	}
	if ki.Expiry == nil {
		c.fail(http.StatusBadRequest, "InvalidXmlDocument", "XML specified is not syntactically valid: KeyInfo needs an Expiry.")
		return
	}
	expiry, ok := c.keyTime("Expiry", *ki.Expiry)
	if !ok {
		return
	}
	switch {
	case !expiry.After(start):
		c.badKeyTime("Expiry", *ki.Expiry, "the expiry must be after the start")
		return
	case expiry.After(now.Add(auth.MaxUserDelegationKeyLifetime)):
		c.badKeyTime("Expiry", *ki.Expiry, "the expiry must be within 7 days of the current time")
		return
	}
	key, _ := c.s.cfg.Keys(c.addr.Account)
	version := c.r.Header.Get("x-ms-version")
	value := auth.DeriveUserDelegationKey(key, c.addr.Account, oid, tid, start, expiry, "b", version)
	b := newXML()
	b.open("UserDelegationKey")
	b.elem("SignedOid", oid)
	b.elem("SignedTid", tid)
	b.elem("SignedStart", start.Format(auth.UserDelegationKeyTimeFormat))
	b.elem("SignedExpiry", expiry.Format(auth.UserDelegationKeyTimeFormat))
	b.elem("SignedService", "b")
	b.elem("SignedVersion", version)
	b.elem("Value", base64.StdEncoding.EncodeToString(value))
	b.close("UserDelegationKey")
	c.sendXML(http.StatusOK, b)
}

// keyTime parses a KeyInfo time (ISO 8601 UTC) to whole seconds, the
// precision of the key's fields. It answers the request and returns false
// when the value is not a time.
func (c *call) keyTime(node, v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		c.badKeyTime(node, v, "not an ISO 8601 UTC time")
		return t, false
	}
	return t.UTC().Truncate(time.Second), true
}

func (c *call) badKeyTime(node, v, reason string) {
	c.fail(http.StatusBadRequest, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct format: "+reason+".",
		azerr.NewDetail("XmlNodeName", node), azerr.NewDetail("XmlNodeValue", v))
}
