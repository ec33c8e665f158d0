//go:build !linux

package memidle

func newSharedReader() func() uint64 { return func() uint64 { return 0 } }

// DropFileMapping does nothing on this platform.
func DropFileMapping(start uintptr) uint64 { return 0 }
