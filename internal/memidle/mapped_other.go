//go:build !linux

package memidle

func residentShared() uint64 { return 0 }

func dropFileMappings() uint64 { return 0 }
