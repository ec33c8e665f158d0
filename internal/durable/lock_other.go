//go:build !unix

package durable

import "os"

// lockDir relies on bbolt's own file lock where flock is not available.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

func unlockDir(f *os.File) {
	if f != nil {
		_ = f.Close()
	}
}
