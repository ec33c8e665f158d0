package blobapi

import "testing"

// TestValidServiceVersionCacheAllocatesNothing: the version seen last is
// accepted again without a heap allocation (the point of the cache; the
// version's text once moved to the heap on every call).
func TestValidServiceVersionCacheAllocatesNothing(t *testing.T) {
	v := string([]byte("2025-11-05")) // as a request header's value: not a constant
	if !validServiceVersion(v) {
		t.Fatalf("%s refused", v)
	}
	if n := testing.AllocsPerRun(100, func() {
		if !validServiceVersion(v) {
			t.Fatalf("%s refused", v)
		}
	}); n != 0 {
		t.Errorf("%v allocations per accepted version, want 0", n)
	}
}
