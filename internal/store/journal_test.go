package store

import (
	"errors"
	"testing"
)

// brokenJournal fails every record, as a full or failing disk does.
type brokenJournal struct{}

var errDiskFull = errors.New("no space left on device")

func (brokenJournal) Submit(_ Record, done func(error)) func() error {
	if done != nil {
		done(errDiskFull)
	}
	return func() error { return errDiskFull }
}

// TestFailedStoreRefusesBeforeConflicts: once a durable write has failed,
// its change is in memory but not on disk. A retry of that write must get
// ErrStoreFailed, not a conflict computed from the lost change (a client
// takes ContainerAlreadyExists or BlobAlreadyExists as success, and the
// container or blob is gone after a restart).
func TestFailedStoreRefusesBeforeConflicts(t *testing.T) {
	s := New(Options{Journal: brokenJournal{}})
	if _, err := s.CreateContainer("acct", "c", nil, ""); !errors.Is(err, ErrStoreFailed) {
		t.Fatalf("first create: %v, want ErrStoreFailed", err)
	}
	tests := []struct {
		name  string
		write func() error
	}{
		{"create container again", func() error { _, err := s.CreateContainer("acct", "c", nil, ""); return err }},
		{"put blob if none match", func() error {
			_, err := s.PutBlob("acct", "c", "b", Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{Conditions: Conditions{IfNoneMatch: "*"}})
			return err
		}},
		{"set metadata if match", func() error {
			_, err := s.SetContainerMetadata("acct", "c", nil, Conditions{IfMatch: `"0x1"`})
			return err
		}},
		{"service properties", func() error {
			return s.UpdateServiceProperties("acct", func([]byte) ([]byte, error) { return []byte("<x/>"), nil })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.write(); !errors.Is(err, ErrStoreFailed) {
				t.Fatalf("%v, want ErrStoreFailed", err)
			}
		})
	}
}
