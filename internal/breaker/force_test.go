package breaker

import "testing"

func TestForce(t *testing.T) {
	b, clk := newTest(t, nil)
	tr := b.Force(clk.Now(), SecondaryOnly)
	if tr == nil || tr.Mode != SecondaryOnly {
		t.Fatalf("transition %+v", tr)
	}
	if rt := b.Route(); rt.First != Secondary {
		t.Fatalf("route %+v", rt)
	}
	if b.Force(clk.Now(), SecondaryOnly) != nil {
		t.Fatal("forcing the same mode twice made a transition")
	}
	b.Force(clk.Now(), PrimaryOnly)
	if rt := b.Route(); rt.First != Primary {
		t.Fatalf("route %+v", rt)
	}
	for range 10 {
		if b.Failure(clk.Now(), "") != nil {
			t.Fatal("failures trip a forced breaker")
		}
	}
	if tr := b.Force(clk.Now(), Auto); tr == nil || tr.To != Closed {
		t.Fatalf("back to auto: %+v", tr)
	}
	if b.Consecutive() != 0 {
		t.Fatal("auto must start from a clean count")
	}
}
