package chaos

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
)

// ErrWrongBytes is wrapped by Verify when data is not exactly one complete
// version of the blob it was read from.
var ErrWrongBytes = errors.New("chaos: wrong bytes")

// headerPrefix starts every payload; the header is
// "chaos1|NAME|VERSION|SIZE\n".
const headerPrefix = "chaos1|"

// maxHeader bounds the header Verify looks for: a blob name is at most
// 1024 characters.
const maxHeader = 1100

// HeaderSize is the length of the header Payload writes for name and ver;
// a payload is never shorter.
func HeaderSize(name string, ver uint64, size int) int {
	return len(header(name, ver, size))
}

func header(name string, ver uint64, size int) string {
	return headerPrefix + name + "|" + strconv.FormatUint(ver, 10) + "|" + strconv.Itoa(size) + "\n"
}

// Payload returns version ver of blob name, size bytes long (or as long as
// its header, if that is longer): the header, then bytes drawn from a
// generator seeded by name and ver. Two versions of one blob, or the same
// version of two blobs, differ in their first bytes and in their body.
func Payload(name string, ver uint64, size int) []byte {
	// The header holds the size, whose digits change its own length.
	for range 3 {
		if h := HeaderSize(name, ver, size); size < h {
			size = h
		}
	}
	h := header(name, ver, size)
	b := make([]byte, size)
	copy(b, h)
	fill(b[len(h):], name, ver)
	return b
}

func seed(name string, ver uint64) *rand.PCG {
	f := fnv.New64a()
	_, _ = f.Write([]byte(name))
	return rand.NewPCG(f.Sum64(), ver)
}

func fill(b []byte, name string, ver uint64) {
	g := seed(name, ver)
	var w [8]byte
	for len(b) > 0 {
		binary.LittleEndian.PutUint64(w[:], g.Uint64())
		b = b[copy(b, w[:]):]
	}
}

// Verify checks that data is exactly one complete version of blob name, as
// Payload made it, and returns that version. Anything else (a torn or
// truncated body, two versions mixed, another blob's bytes, garbage) is an
// error wrapping ErrWrongBytes.
func Verify(name string, data []byte) (uint64, error) {
	head := data[:min(len(data), maxHeader)]
	nl := bytes.IndexByte(head, '\n')
	if !bytes.HasPrefix(head, []byte(headerPrefix)) || nl < 0 {
		return 0, fmt.Errorf("%w: %d bytes without a payload header (starting %q)", ErrWrongBytes, len(data), head[:min(len(head), 32)])
	}
	fields := bytes.Split(head[len(headerPrefix):nl], []byte("|"))
	if len(fields) < 3 {
		return 0, fmt.Errorf("%w: malformed header %q", ErrWrongBytes, head[:nl])
	}
	// The name may hold "|": the version and size are the last two fields.
	gotName := string(bytes.Join(fields[:len(fields)-2], []byte("|")))
	ver, err1 := strconv.ParseUint(string(fields[len(fields)-2]), 10, 64)
	size, err2 := strconv.Atoi(string(fields[len(fields)-1]))
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: malformed header %q", ErrWrongBytes, head[:nl])
	}
	if gotName != name {
		return ver, fmt.Errorf("%w: blob %q holds version %d of %q", ErrWrongBytes, name, ver, gotName)
	}
	if size != len(data) {
		return ver, fmt.Errorf("%w: blob %q version %d is %d bytes, want %d", ErrWrongBytes, name, ver, len(data), size)
	}
	body := data[nl+1:]
	g := seed(name, ver)
	var w [8]byte
	for off := 0; off < len(body); off += 8 {
		binary.LittleEndian.PutUint64(w[:], g.Uint64())
		n := min(8, len(body)-off)
		if !bytes.Equal(body[off:off+n], w[:n]) {
			return ver, fmt.Errorf("%w: blob %q version %d differs at byte %d of %d", ErrWrongBytes, name, ver, nl+1+off, len(data))
		}
	}
	return ver, nil
}

// VerifyPrefix checks that data is the first bytes of one complete version
// of blob name: the first want bytes, or the whole version if it is
// shorter. data must hold the whole header. It returns the version.
//
// A prefix shorter than the header cannot tell its version: it is accepted
// when it is want bytes of a well-formed header of name, and the version
// returned is 0.
func VerifyPrefix(name string, data []byte, want int) (uint64, error) {
	nl := bytes.IndexByte(data[:min(len(data), maxHeader)], '\n')
	if nl < 0 && len(data) == want {
		start := headerPrefix + name + "|"
		if rest, ok := bytes.CutPrefix(data, []byte(start)); ok && onlyDigitsAndBars(rest) || strings.HasPrefix(start, string(data)) {
			return 0, nil
		}
	}
	if !bytes.HasPrefix(data, []byte(headerPrefix)) || nl < 0 {
		return 0, fmt.Errorf("%w: %d bytes without a payload header (starting %q)", ErrWrongBytes, len(data), data[:min(len(data), 32)])
	}
	fields := bytes.Split(data[len(headerPrefix):nl], []byte("|"))
	if len(fields) < 3 {
		return 0, fmt.Errorf("%w: malformed header %q", ErrWrongBytes, data[:nl])
	}
	ver, err1 := strconv.ParseUint(string(fields[len(fields)-2]), 10, 64)
	size, err2 := strconv.Atoi(string(fields[len(fields)-1]))
	if err1 != nil || err2 != nil || size < 0 || size > 1<<32 {
		return 0, fmt.Errorf("%w: malformed header %q", ErrWrongBytes, data[:nl])
	}
	if n := min(want, size); len(data) != n {
		return ver, fmt.Errorf("%w: a prefix of %d bytes of %q version %d (%d bytes) came as %d", ErrWrongBytes, want, name, ver, size, len(data))
	}
	full := Payload(name, ver, size)
	if !bytes.Equal(full[:len(data)], data) {
		return ver, fmt.Errorf("%w: a prefix of %d bytes of %q version %d differs", ErrWrongBytes, len(data), name, ver)
	}
	return ver, nil
}

func onlyDigitsAndBars(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && c != '|' {
			return false
		}
	}
	return true
}
