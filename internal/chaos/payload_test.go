package chaos

import (
	"errors"
	"testing"
)

func TestPayloadVerifies(t *testing.T) {
	for _, size := range []int{0, 1, 20, 21, 64, 1000, 1 << 20} {
		p := Payload("dir/blob-7", 42, size)
		if size >= HeaderSize("dir/blob-7", 42, size) && len(p) != size {
			t.Fatalf("size %d: payload is %d bytes", size, len(p))
		}
		ver, err := Verify("dir/blob-7", p)
		if err != nil || ver != 42 {
			t.Fatalf("size %d: Verify = %d, %v; want 42, nil", size, ver, err)
		}
	}
}

func TestVerifyRejectsWrongBytes(t *testing.T) {
	a := Payload("a", 1, 4096)
	a2 := Payload("a", 2, 4096)
	b := Payload("b", 1, 4096)
	flipped := append([]byte(nil), a...)
	flipped[3000] ^= 1
	mixed := append(append([]byte(nil), a[:2048]...), a2[2048:]...)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a payload at all")},
		{"truncated", a[:4000]},
		{"extended", append(append([]byte(nil), a...), 0)},
		{"one bit flipped", flipped},
		{"two versions mixed", mixed},
		{"another blob", b},
		{"header only", a[:HeaderSize("a", 1, 4096)]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify("a", tt.data); !errors.Is(err, ErrWrongBytes) {
				t.Fatalf("Verify = %v, want ErrWrongBytes", err)
			}
		})
	}
}

func TestPayloadsDiffer(t *testing.T) {
	a, b := Payload("x", 1, 256), Payload("x", 2, 256)
	if string(a[40:]) == string(b[40:]) {
		t.Fatal("two versions share their body")
	}
}

func TestVerifyPrefix(t *testing.T) {
	p := Payload("a", 3, 5000)
	other := Payload("b", 3, 5000)
	tests := []struct {
		name string
		data []byte
		want int
		ok   bool
	}{
		{"prefix", p[:1000], 1000, true},
		{"whole, shorter than asked", p, 9000, true},
		{"short", p[:999], 1000, false},
		{"another blob", other[:1000], 1000, false},
		{"flipped", append(append([]byte(nil), p[:500]...), p[500]^1), 501, false},
		{"no header", p[100:1100], 1000, false},
		{"part of the header", p[:12], 12, true},
		{"part of the header of another blob", other[:12], 12, false},
		{"part of the header, short", p[:12], 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyPrefix("a", tt.data, tt.want)
			if (err == nil) != tt.ok {
				t.Fatalf("VerifyPrefix = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
