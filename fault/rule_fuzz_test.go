package fault

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseRule: no input makes ParseRule panic; every refusal wraps
// ErrInvalidRule; every accepted rule is valid, prints, and survives a
// JSON round trip unchanged. Seeds: the rule files of testdata/valid and
// testdata/invalid, plus testdata/fuzz/FuzzParseRule. Run with
//
//	go test -fuzz=FuzzParseRule -fuzztime=60s ./fault/
func FuzzParseRule(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRule(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("error %v does not wrap ErrInvalidRule", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted an invalid rule: %v", err)
		}
		_ = r.String()
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := ParseRule(again)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the rule:\n%+v\n%+v", r, r2)
		}
	})
}
