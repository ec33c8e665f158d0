//go:build race

package geoblob_test

// raceEnabled: the race detector makes sync.Pool drop items at random,
// which adds allocations.
const raceEnabled = true
