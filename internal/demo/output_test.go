package demo

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrinterWraps(t *testing.T) {
	var buf bytes.Buffer
	p := &printer{w: &buf, width: 12}
	for _, s := range []string{"P0", "P1", "P2", "P3", "S4", "S5"} {
		p.token(s, colorGreen)
	}
	p.line("", "state change")
	p.token("P6", "")
	p.final("reads: 7")
	want := "P0 P1 P2 P3\nS4 S5\nstate change\nP6\nreads: 7\n"
	if buf.String() != want {
		t.Fatalf("got %q want %q", buf.String(), want)
	}
	for _, l := range strings.Split(buf.String(), "\n") {
		if len(l) > 12 {
			t.Fatalf("line %q wider than 12", l)
		}
	}
}

func TestPrinterQuietAndColor(t *testing.T) {
	var buf bytes.Buffer
	p := &printer{w: &buf, width: 80, quiet: true}
	p.token("P0", colorGreen)
	p.line("", "hidden")
	p.final("summary")
	if buf.String() != "summary\n" {
		t.Fatalf("quiet output %q", buf.String())
	}
	buf.Reset()
	p = &printer{w: &buf, width: 80, color: true}
	p.token("S1", colorYellow)
	if !strings.Contains(buf.String(), colorYellow+"S1"+colorReset) {
		t.Fatalf("no colour: %q", buf.String())
	}
	if np := newPrinter(&buf, false); np.color {
		t.Fatal("colour on a non-terminal writer")
	}
}

func TestColorWanted(t *testing.T) {
	tests := []struct {
		noColor string
		want    bool
	}{
		{"", true}, // unset, or set to the empty string: no-color.org keeps colour
		{"1", false},
		{"0", false}, // any non-empty value, whatever it says
		{"false", false},
	}
	for _, tc := range tests {
		if got := colorWanted(tc.noColor); got != tc.want {
			t.Errorf("NO_COLOR=%q: colour %v, want %v", tc.noColor, got, tc.want)
		}
	}
}
