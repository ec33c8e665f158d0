package demo

import (
	"errors"
	"testing"
)

func TestParseOutages(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{"200-400,600-800", "200-400,600-800", false},
		{" 600-800 , 200-400 ", "200-400,600-800", false},
		{"none", "none", false},
		{"0-1000", "0-1000", false},
		{"200", "", true},
		{"400-200", "", true},
		{"a-b", "", true},
		{"0-1001", "", true},
		{"-5-10", "", true},
		{"100-300,200-400", "", true},
	}
	for _, tc := range tests {
		got, err := ParseOutages(tc.in, 1000)
		if tc.err {
			if !errors.Is(err, ErrBadOutages) {
				t.Errorf("%q: want ErrBadOutages, got %v", tc.in, err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	o, _ := ParseOutages("200-400", 1000)
	for i, want := range map[int]bool{199: false, 200: true, 399: true, 400: false} {
		if o.Active(i) != want {
			t.Errorf("Active(%d) = %v", i, !want)
		}
	}
	if !o.Near(420, 30) || o.Near(431, 30) {
		t.Error("Near slack wrong")
	}
}
