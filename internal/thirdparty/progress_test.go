package thirdparty

import (
	"strings"
	"testing"
)

func TestProgressShowsTopLevelEndsOnly(t *testing.T) {
	stream := `{"Action":"run","Test":"TestA"}
{"Action":"pass","Test":"TestA/sub","Elapsed":1}
{"Action":"output","Test":"TestA","Output":"--- PASS: TestA\n"}
{"Action":"fail","Test":"TestA","Elapsed":2.5}
not json
{"Action":"skip","Test":"TestB","Elapsed":0}
`
	var out strings.Builder
	w := progressLines(&out)
	// Written in pieces that split lines, as a pipe delivers them.
	for i := 0; i < len(stream); i += 7 {
		end := min(i+7, len(stream))
		if _, err := w.Write([]byte(stream[i:end])); err != nil {
			t.Fatal(err)
		}
	}
	want := "  TestA: fail (2.5s)\n  TestB: skip (0.0s)\n"
	if out.String() != want {
		t.Errorf("progress = %q, want %q", out.String(), want)
	}
}
