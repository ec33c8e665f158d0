// Package failoverbench measures how three clients ride through scripted
// outages of a geo-redundant account: geoblob with its defaults, plain
// azblob with the SDK's default retries, and a per-request alternation
// policy that models the other Azure SDKs (try 1 on the primary, then
// alternate location on each retry; a 404 from the secondary sends the
// rest of that request to the primary; nothing is remembered between
// requests).
//
// Each run starts an in-process emulator on loopback, uploads a set of
// blobs, waits until they have replicated and then, for every scenario
// and client, lets Config.Readers goroutines read and verify blobs while
// the emulator's fault rules take the primary (or both locations) down for
// a while. A transport wrapper records every wire request with the location
// it went to, so that chunks and resumptions are counted as well as the
// reads the caller sees.
//
// Run gives a Report: per client and scenario the failed reads, reads that
// returned wrong bytes, the time to the first secondary-served read,
// latency percentiles of the reads that started during the outage, primary
// attempts during the outage, the share of wire reads served by the primary
// just after recovery, goroutine growth and (for geoblob) breaker
// transitions, each row with a verdict against the targets of issue 9.
// The Report is written as a table, JSON, a CSV of every read and one SVG
// picture per scenario.
//
// geoblob's public API is used only in geoblob.go, so that changes to it
// stay in one small file.
package failoverbench
