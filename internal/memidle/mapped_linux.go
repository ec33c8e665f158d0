package memidle

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// newSharedReader returns a reader of the resident pages shared with the
// page cache (RssFile and RssShmem: the third field of /proc/self/statm),
// in bytes; 0 when it cannot be read. It keeps the file open and reads it
// into one buffer, allocating nothing per call.
func newSharedReader() func() uint64 {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return func() uint64 { return 0 }
	}
	page := uint64(os.Getpagesize())
	var buf [128]byte
	return func() uint64 {
		n, err := f.ReadAt(buf[:], 0)
		if n == 0 || (err != nil && err != io.EOF) {
			return 0
		}
		return statmField(buf[:n], 2) * page
	}
}

// statmField parses field i (from 0) of a statm line: numbers separated by
// spaces. It returns 0 for a missing or malformed field.
func statmField(b []byte, i int) uint64 {
	var v uint64
	field, digits := 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if field == i {
				v = v*10 + uint64(c-'0')
				digits = true
			}
		case c == ' ' || c == '\n':
			if field == i {
				if digits {
					return v
				}
				return 0
			}
			field++
		default:
			return 0
		}
	}
	if field == i && digits {
		return v
	}
	return 0
}

// DropFileMapping drops the resident pages of the read-only shared file
// mapping that begins at start (the kernel re-reads them from the page
// cache on the next access) and returns the bytes it advised: 0 when no
// such mapping begins there. The caller must keep that mapping in place
// until DropFileMapping returns (bbolt: inside a read transaction, which
// holds off a remap). Dropping pages of a range the kernel has meanwhile
// given to another mapping would zero that memory, which is why this
// takes one mapping its owner holds still rather than scanning for every
// shared mapping of the process.
func DropFileMapping(start uintptr) uint64 {
	if start == 0 {
		return 0
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s, e, ok := sharedReadOnlyFile(sc.Text())
		if !ok || s != start {
			continue
		}
		// The addresses come from the kernel's list of this process's
		// mappings; madvise takes them as plain numbers.
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, s, e-s, syscall.MADV_DONTNEED); errno != 0 {
			return 0
		}
		return uint64(e - s)
	}
	return 0
}

// sharedReadOnlyFile parses a line of /proc/PID/maps ("start-end perms
// offset dev inode path") and reports the range of a mapping that is
// read-only, shared and backed by a file.
func sharedReadOnlyFile(line string) (start, end uintptr, ok bool) {
	f := strings.Fields(line)
	if len(f) < 6 || f[1] != "r--s" || f[4] == "0" || !strings.HasPrefix(f[5], "/") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(f[0], "-")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(a, 16, 64)
	e, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}
