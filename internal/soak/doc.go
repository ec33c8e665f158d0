// Package soak holds geoblob's chaos soak, a test only: concurrent readers
// and writers, through the geoblob client and plain azblob, against an
// in-process emulator while random faults hit both endpoints, replication
// pauses and resumes, and the emulator restarts on its data directory.
//
// Every read must return exactly the bytes of a version of that blob that a
// writer sent (internal/chaos payloads verify themselves), or an error of a
// known kind; at the end every acknowledged write must be there, the
// secondary must catch up with the primary, no goroutine may be left behind
// and the heap must have stayed under a bound.
//
// The default run is short (a few seconds, bounded by a count of
// operations). A long run:
//
//	go test ./internal/soak -run TestSoak -soak.duration=5m -v
//
// prints reads, writes, faults injected, restarts, wrong bytes and errors by
// kind; -soak.seed replays a run's random choices (the seed is logged).
package soak
