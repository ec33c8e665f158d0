package store

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// TestFormatETag: the ETag a commit stamps is "0x" and its nanoseconds in
// upper-case hexadecimal, quoted, as the store always wrote it.
func TestFormatETag(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"epoch", time.Unix(0, 0)},
		{"one", time.Unix(0, 1)},
		{"one digit", time.Unix(0, 0xF)},
		{"two digits", time.Unix(0, 0x10)},
		{"now-ish", time.Date(2026, 12, 2, 6, 0, 0, 123456789, time.UTC)},
		{"largest", time.Unix(0, math.MaxInt64)},
		{"before the epoch", time.Unix(0, -1)},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := fmt.Sprintf("\"0x%X\"", uint64(tc.t.UnixNano()))
			if got := formatETag(tc.t); got != want {
				t.Fatalf("formatETag = %s, want %s", got, want)
			}
		})
	}
}
