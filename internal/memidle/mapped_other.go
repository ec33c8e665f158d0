//go:build !linux

package memidle

func newSharedReader() func() uint64 { return func() uint64 { return 0 } }

func dropFileMappings() uint64 { return 0 }
