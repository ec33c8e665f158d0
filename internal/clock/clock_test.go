package clock

import (
	"testing"
	"time"
)

func TestManual(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewManual(t0)
	now := m.After(0)
	later := m.After(10 * time.Second)
	sooner := m.After(5 * time.Second)
	select {
	case got := <-now:
		if !got.Equal(t0) {
			t.Fatalf("After(0) fired with %v", got)
		}
	default:
		t.Fatal("After(0) must fire at once")
	}
	if n := m.Timers(); n != 2 {
		t.Fatalf("%d timers waiting, want 2", n)
	}
	m.Advance(4 * time.Second)
	select {
	case <-sooner:
		t.Fatal("fired early")
	default:
	}
	m.Advance(time.Second)
	if got := <-sooner; !got.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("sooner fired at %v", got)
	}
	select {
	case <-later:
		t.Fatal("later fired early")
	default:
	}
	m.Set(t0) // never backwards
	if !m.Now().Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("clock moved back to %v", m.Now())
	}
	m.Advance(time.Hour)
	<-later
	if n := m.Timers(); n != 0 {
		t.Fatalf("%d timers waiting after all fired", n)
	}
	var _ Clock = Real{}
	var _ Clock = m
}
