package thirdparty

import (
	"errors"
	"strings"
	"testing"
)

func TestParseExpectations(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Expectations
		err      error
	}{
		{name: "comments and cases", in: "# header\n\nTestB/y\tappend blobs\nTestB/z\t access tiers \n",
			want: Expectations{"TestB/y": "append blobs", "TestB/z": "access tiers"}},
		{name: "no reason", in: "TestB/y\n", err: ErrBadExpectations},
		{name: "empty reason", in: "TestB/y\t \n", err: ErrBadExpectations},
		{name: "listed twice", in: "TestB/y\ta\nTestB/y\tb\n", err: ErrBadExpectations},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseExpectations(strings.NewReader(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestCompare(t *testing.T) {
	res := parseFixture(t)
	exact := Expectations{"TestB/y": "append blobs", "TestB/z": "access tiers", "TestD": "times out"}
	for _, tc := range []struct {
		name string
		exp  Expectations
		want []string // "case kind"
	}{
		{name: "exactly the listed cases fail", exp: exact},
		{name: "an unlisted failure is a regression", exp: Expectations{"TestB/y": "x", "TestD": "x"},
			want: []string{"TestB/z regressed"}},
		{name: "an unfinished case is a regression", exp: Expectations{"TestB/y": "x", "TestB/z": "x"},
			want: []string{"TestD regressed"}},
		{name: "a listed case that passes must come off", exp: with(exact, "TestA", "tags"),
			want: []string{"TestA now passes"}},
		{name: "a listed case that skips must come off", exp: with(exact, "TestC", "tags"),
			want: []string{"TestC now passes"}},
		{name: "a listed case that did not run is stale", exp: with(exact, "TestGone", "tags"),
			want: []string{"TestGone did not run"}},
		{name: "a parent is not a case", exp: with(exact, "TestB", "tags"),
			want: []string{"TestB did not run"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range Compare(res, tc.exp) {
				got = append(got, m.Case+" "+string(m.Kind))
				if m.String() == "" {
					t.Errorf("%s: empty message", m.Case)
				}
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("Compare = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestObservedKeepsListedReasons(t *testing.T) {
	res := parseFixture(t)
	got := Observed(res, Expectations{"TestB/z": "access tiers (checked by hand)"})
	want := Expectations{
		"TestB/y": "not modelled: append blobs",
		"TestB/z": "access tiers (checked by hand)",
		"TestD":   "unknown, see its output",
	}
	if len(got) != len(want) {
		t.Fatalf("Observed = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	var b strings.Builder
	if err := WriteExpectations(&b, "line one\nline two", got); err != nil {
		t.Fatal(err)
	}
	back, err := ParseExpectations(strings.NewReader(b.String()))
	if err != nil || len(back) != len(got) || back["TestD"] != got["TestD"] {
		t.Fatalf("round trip of %q = %v, %v", b.String(), back, err)
	}
}

func with(e Expectations, k, v string) Expectations {
	out := Expectations{k: v}
	for a, b := range e {
		out[a] = b
	}
	return out
}
