//go:build !linux

package slab

// newMapper returns nil: elsewhere than on Linux, buffers are heap memory.
func newMapper() mapper { return nil }
