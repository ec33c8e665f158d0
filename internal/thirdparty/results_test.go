package thirdparty

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func parseFixture(t *testing.T) *Results {
	t.Helper()
	f, err := os.Open("testdata/events.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestParseLeavesAndOutcomes(t *testing.T) {
	res := parseFixture(t)
	want := map[string]Outcome{
		"TestA": Pass, "TestB/x": Pass, "TestB/y": Fail, "TestB/z": Fail,
		"TestB-x": Pass, "TestC": Skip, "TestD": Incomplete,
	}
	leaves := res.Leaves()
	if len(leaves) != len(want) {
		var names []string
		for _, l := range leaves {
			names = append(names, l.Name)
		}
		t.Fatalf("leaves = %v, want the %d of %v", names, len(want), want)
	}
	for _, l := range leaves {
		if w, ok := want[l.Name]; !ok || l.Outcome != w {
			t.Errorf("%s: outcome %q, want %q (listed: %v)", l.Name, l.Outcome, w, ok)
		}
	}
	if got, w := res.Count(), (Counts{Pass: 3, Fail: 2, Skip: 1, Incomplete: 1}); got != w {
		t.Errorf("Count() = %+v, want %+v", got, w)
	}
	if !strings.Contains(res.BuildOutput, "go: downloading") || !strings.Contains(res.BuildOutput, "FAIL\texample.com/p") {
		t.Errorf("BuildOutput = %q, want the non-JSON line and the package's result", res.BuildOutput)
	}
}

func TestParseNoCases(t *testing.T) {
	_, err := Parse(strings.NewReader("# example.com/p\n./x.go:1:1: syntax error\n"))
	if !errors.Is(err, ErrNoCases) || !strings.Contains(err.Error(), "syntax error") {
		t.Fatalf("Parse(build failure) error = %v, want ErrNoCases carrying the build output", err)
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{"<Message>The requested operation is not implemented by the geoblob emulator: it does not model Put Block From URL.&#xA;", "not modelled: Put Block From URL"},
		{"the geoblob emulator does not model blob index tags.&#xA;RequestId", "not modelled: blob index tags"},
		{"RESPONSE 400: 400 Bad Request\nERROR CODE: InvalidHeaderValue\n", "error code InvalidHeaderValue"},
		{"<Error><Code>BlobArchived</Code>", "error code BlobArchived"},
		{"expected 3, got 4", ""},
	} {
		if got := Reason(tc.out); got != tc.want {
			t.Errorf("Reason(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}
