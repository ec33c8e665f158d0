package memidle

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

func TestSharedReadOnlyFile(t *testing.T) {
	cases := []struct {
		line       string
		start, end uintptr
		ok         bool
	}{
		{"7f0000000000-7f0000400000 r--s 00000000 fd:01 1234 /tmp/data/meta.db", 0x7f0000000000, 0x7f0000400000, true},
		{"7f0000000000-7f0000400000 r--s 00000000 fd:01 1234 /tmp/dir with space/meta.db", 0x7f0000000000, 0x7f0000400000, true},
		{"00400000-00800000 r-xp 00000000 fd:01 99 /usr/bin/geoblob", 0, 0, false},       // program code
		{"7f0000000000-7f0000001000 rw-s 00000000 fd:01 77 /tmp/shared-rw", 0, 0, false}, // writable
		{"7f0000000000-7f0000001000 r--p 00000000 fd:01 77 /tmp/private", 0, 0, false},   // private
		{"7f0000000000-7f0000001000 r--s 00000000 00:00 0 /SYSV00000000", 0, 0, false},   // no inode
		{"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]", 0, 0, false},
		{"7f0000000000-7f0000001000 r--s 00000000 00:01 5 [anon_shmem]", 0, 0, false},
		{"garbage", 0, 0, false},
		{"7f0000001000-7f0000000000 r--s 00000000 fd:01 1234 /x", 0, 0, false}, // end before start
	}
	for _, tc := range cases {
		s, e, ok := sharedReadOnlyFile(tc.line)
		if ok != tc.ok || s != tc.start || e != tc.end {
			t.Errorf("%q: %#x-%#x %v, want %#x-%#x %v", tc.line, s, e, ok, tc.start, tc.end, tc.ok)
		}
	}
}

func TestStatmField(t *testing.T) {
	cases := []struct {
		line string
		i    int
		want uint64
	}{
		{"6178 4015 2046 1202 0 1350 0\n", 2, 2046},
		{"6178 4015 2046 1202 0 1350 0\n", 0, 6178},
		{"6178 4015 2046 1202 0 1350 0\n", 6, 0},
		{"6178 4015 2046 1202 0 1350 7", 6, 7},
		{"6178 4015", 2, 0},
		{"6178 x 2046", 2, 0},
		{"", 2, 0},
	}
	for _, tc := range cases {
		if got := statmField([]byte(tc.line), tc.i); got != tc.want {
			t.Errorf("statmField(%q, %d) = %d, want %d", tc.line, tc.i, got, tc.want)
		}
	}
}

func TestSharedReader(t *testing.T) {
	read := newSharedReader()
	if read() == 0 {
		t.Fatal("no resident shared pages read; the program's own code is some")
	}
}

// TestDropFileMapping maps a file read-only and shared, as bbolt maps its
// database, reads it all, and checks that a drop leaves none of it
// resident in the process while its bytes read back unchanged.
func TestDropFileMapping(t *testing.T) {
	const size = 4 << 20
	path := filepath.Join(t.TempDir(), "meta.db")
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(i / 4096)
	}
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	for i := 0; i < size; i += 4096 {
		sink += int(m[i]) // fault every page in
	}
	if rss := mappingRSS(t, path); rss < size/2 {
		t.Fatalf("after reading the mapping %d bytes are resident, want most of %d", rss, size)
	}
	if advised := DropFileMapping(uintptr(unsafe.Pointer(&m[0])) + 4096); advised != 0 {
		t.Fatalf("advised %d bytes for an address inside the mapping, want 0: only a mapping's start names it", advised)
	}
	if advised := DropFileMapping(uintptr(unsafe.Pointer(&m[0]))); advised < size {
		t.Fatalf("advised %d bytes, want at least %d", advised, size)
	}
	if rss := mappingRSS(t, path); rss != 0 {
		t.Fatalf("after the drop %d bytes of the mapping are resident, want 0", rss)
	}
	for i := 0; i < size; i += 4096 {
		if m[i] != want[i] {
			t.Fatalf("byte %d reads %d after the drop, want %d", i, m[i], want[i])
		}
	}
}

// sink keeps the reads of the mapping from being optimised away.
var sink int

// mappingRSS is the resident size of the mapping of path, from smaps.
func mappingRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, found, rss := false, false, 0
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = strings.HasSuffix(line, " "+path)
			found = found || in
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			rss += kb << 10
		}
	}
	if !found {
		t.Fatalf("no mapping of %s in smaps", path)
	}
	return rss
}
