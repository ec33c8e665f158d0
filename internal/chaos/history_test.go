package chaos

import (
	"slices"
	"testing"
)

func TestHistoryLegal(t *testing.T) {
	type step struct {
		op  string // "begin", "ack"
		ver uint64
	}
	tests := []struct {
		name     string
		steps    []step
		want     []uint64
		absentOK bool
	}{
		{"nothing sent", nil, nil, true},
		{"unacked only", []step{{"begin", 1}}, []uint64{1}, true},
		{"acked", []step{{"begin", 1}, {"ack", 1}}, []uint64{1}, false},
		{"sequential overwrite", []step{{"begin", 1}, {"ack", 1}, {"begin", 2}, {"ack", 2}}, []uint64{2}, false},
		{"overwrite in flight", []step{{"begin", 1}, {"ack", 1}, {"begin", 2}}, []uint64{1, 2}, false},
		{"concurrent acked overwrites", []step{{"begin", 1}, {"begin", 2}, {"ack", 2}, {"ack", 1}}, []uint64{1, 2}, false},
		{"unacked before acked", []step{{"begin", 1}, {"begin", 2}, {"ack", 2}}, []uint64{1, 2}, false},
		{"acked then two later", []step{{"begin", 1}, {"ack", 1}, {"begin", 2}, {"begin", 3}, {"ack", 3}}, []uint64{2, 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistory()
			acks := map[uint64]func(){}
			for _, s := range tt.steps {
				switch s.op {
				case "begin":
					acks[s.ver] = h.Begin("n", s.ver)
				case "ack":
					acks[s.ver]()
				}
			}
			got, absentOK := h.Legal("n")
			if !slices.Equal(got, tt.want) || absentOK != tt.absentOK {
				t.Fatalf("Legal = %v, %v; want %v, %v", got, absentOK, tt.want, tt.absentOK)
			}
		})
	}
}

func TestHistorySettle(t *testing.T) {
	h := NewHistory()
	h.Begin("n", 1)()
	h.Begin("n", 2) // never acknowledged
	if err := h.Check("n", 2, true); err != nil {
		t.Fatal(err)
	}
	h.Settle("n", 2, true)
	// Version 1 was superseded by what the reader saw: it may not return.
	if err := h.Check("n", 1, true); err == nil {
		t.Fatal("a settled-over version was accepted")
	}
	if err := h.Check("n", 2, false); err == nil {
		t.Fatal("losing the settled version was accepted")
	}
	if !h.Sent("n", 1) {
		t.Fatal("Sent forgot a version")
	}
	h.Settle("m", 0, false)
	if err := h.Check("m", 0, false); err != nil {
		t.Fatal(err)
	}
}
