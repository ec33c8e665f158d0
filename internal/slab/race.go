//go:build race

package slab

// poisonFreed: in a race build, freed slots are filled with Poison.
const poisonFreed = true
