// Package demo is geoblob's rebuild of Microsoft's RA-GRS circuit-breaker
// tutorial: it uploads HelloWorld.png, waits until the blob has replicated
// to the secondary, then downloads it 1000 times through a geoblob client,
// printing P or S for the location that served each read while scripted
// outages make the primary answer 503.
//
// With no account configured it runs on the in-process emulator and injects
// the outage server-side. Against a real RA-GRS/RA-GZRS account the outage
// is injected client-side, through fault.Transport, as the original did
// with a Fiddler rule.
package demo
