// Package crashtest holds geoblob's crash test, a test only: it builds the
// geoblob binary, runs `geoblob serve --data-dir DIR` as a real process,
// kills it with SIGKILL in the middle of a concurrent upload storm, starts
// it again on the same directory and checks that nothing acknowledged was
// lost, that no torn blob is visible on either endpoint and that the
// secondary catches up with the primary; several times in one test. It also
// checks what a damaged data directory does to a starting server.
//
// The default run is small enough for CI. A bigger one:
//
//	go test ./internal/crashtest -run TestKill -crash.rounds=10 -crash.acks=300 -v
//
// -crash.seed replays a run's random choices (the seed is logged).
package crashtest
