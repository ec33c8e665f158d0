// Package fault breaks Blob Storage traffic on purpose, so that geo-redundant
// clients can be tested against the failures they exist for.
//
// A Rule names an endpoint (primary, secondary or both), an optional Match on
// the request (methods, read or write, account, container, blob), one Action
// (an Azure error status, latency with jitter, a connection reset before the
// answer, mid-request or mid-body, a hang, or a refused connection) and
// optional Limits (probability, first N firings, a duration and a start
// delay). The JSON form of a Rule is also the wire format of the emulator's
// control API (see docs/control-api.md):
//
//	{"endpoint": "primary",
//	 "match":  {"methods": ["GET"], "blob": "HelloWorld*"},
//	 "action": {"status": 503},
//	 "limits": {"count": 10, "for": "30s"}}
//
// A rule ends when it is removed, when its For passes or, once it has fired
// Count times, when a request it matches goes by; the requests it holds (a
// hang, a delay) are let go then.
//
// A Set holds rules in order and decides, request by request, which rule
// fires: the first one that matches and whose limits let it fire. Each rule
// counts its firings. A Set is safe for concurrent use and can be changed
// while traffic flows.
//
// The same Set drives two injectors:
//
//   - Middleware applies rules inside an HTTP server (the emulator uses it),
//     and RefuseListener makes a listener drop connections as a dead
//     endpoint would: every request on that listener goes down with it,
//     whichever endpoint it addresses, as on a host that is down.
//   - Transport is an http.RoundTripper that applies rules on the client
//     side, so an azblob client can be run through a simulated primary
//     outage against a real storage account.
package fault
