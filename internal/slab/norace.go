//go:build !race

package slab

// poisonFreed: outside race builds, freed slots keep their bytes.
const poisonFreed = false
