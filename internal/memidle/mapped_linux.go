package memidle

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// residentShared reads the resident pages shared with the page cache
// (RssFile and RssShmem: the third field of /proc/self/statm), in bytes.
func residentShared() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0
	}
	pages, err := strconv.ParseUint(string(f[2]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// dropFileMappings drops the resident pages of every read-only shared
// file mapping of the process. It returns the bytes of address space it
// advised, for tests.
func dropFileMappings() uint64 {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	var advised uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		start, end, ok := sharedReadOnlyFile(sc.Text())
		if !ok {
			continue
		}
		// The addresses come from the kernel's list of this process's
		// mappings; madvise takes them as plain numbers.
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_DONTNEED); e == 0 {
			advised += uint64(end - start)
		}
	}
	return advised
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
