//go:build !race

package geoblob_test

const raceEnabled = false
