package durable

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

func putContainer(t *testing.T, j *Journal, seq uint64, name string, applied bool) {
	t.Helper()
	ch := &store.Change{Seq: seq, Time: time.Unix(int64(seq), 0).UTC(), Kind: store.PutContainer, Account: "acct",
		Container: name, Props: &store.Container{Name: name}}
	if err := j.Submit(store.Record{Change: ch, Applied: applied}, nil)(); err != nil {
		t.Fatal(err)
	}
}

func pendingSeqs(t *testing.T, db *DB, log string) []uint64 {
	t.Helper()
	chs, err := db.PendingLog(log, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, c := range chs {
		seqs = append(seqs, c.Seq)
	}
	return seqs
}

func reopen(t *testing.T, db *DB) *DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(db.Dir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func containers(t *testing.T, db *DB, id string) ([]string, Position) {
	t.Helper()
	s := store.New(store.Options{Journal: db.Journal(id, ""), Files: db.Files()})
	pos, err := db.Load(id, s)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range s.ListContainers("acct", store.ListOptions{}).Containers {
		names = append(names, c.Name)
	}
	return names, pos
}

// TestChangeRolesPlanned: a planned failover's role change records the
// new roles with the caller's state, drops the drained log and moves both
// journals to the new primary's log, which survives a reopen.
func TestChangeRolesPlanned(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	j1, j2 := db.Journal("1", LogName("1")), db.Journal("2", LogName("1"))
	putContainer(t, j1, 1, "one", false)
	putContainer(t, j2, 1, "one", true)
	putContainer(t, j1, 2, "two", false) // pending: the old log is not empty
	if got := pendingSeqs(t, db, LogName("1")); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("log:1 before = %v", got)
	}
	putContainer(t, j2, 2, "two", true)
	want := Roles{Primary: "2", Secondary: "1", State: json.RawMessage(`{"epoch":2}`)}
	if err := db.ChangeRoles(RoleChange{Roles: want, DropLogs: []string{LogName("1")},
		Rebind: map[*Journal]string{j1: LogName("2"), j2: LogName("2")}}); err != nil {
		t.Fatal(err)
	}
	putContainer(t, j2, 3, "three", false)
	if got := pendingSeqs(t, db, LogName("2")); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("log:2 after = %v", got)
	}
	if got := pendingSeqs(t, db, LogName("1")); len(got) != 0 {
		t.Fatalf("log:1 after = %v", got)
	}

	db = reopen(t, db)
	got, err := db.Roles()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("roles after reopen: %+v %v, want %+v", got, err, want)
	}
	if dropped, err := db.DropUnused(); err != nil || len(dropped) != 0 {
		t.Fatalf("DropUnused: %v %v", dropped, err)
	}
	j1 = db.Journal("1", LogName("2"))
	putContainer(t, j1, 3, "three", true)
	if got := pendingSeqs(t, db, LogName("2")); len(got) != 0 {
		t.Fatalf("log:2 once applied = %v", got)
	}
	if names, pos := containers(t, db, "1"); !slices.Equal(names, []string{"one", "three", "two"}) || pos.Seq != 3 {
		t.Fatalf("store 1: %v at %+v", names, pos)
	}
}

// TestChangeRolesUnplanned: an unplanned failover's role change drops the
// lost writes' log and the old primary's store, and sets the position of
// the promoted one; the roles then have no secondary.
func TestChangeRolesUnplanned(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	j1, j2 := db.Journal("1", LogName("1")), db.Journal("2", LogName("1"))
	putContainer(t, j1, 1, "kept", false)
	putContainer(t, j2, 1, "kept", true)
	putContainer(t, j1, 2, "lost", false)
	last := time.Unix(2, 0).UTC()
	if err := db.ChangeRoles(RoleChange{Roles: Roles{Primary: "2"}, DropLogs: []string{LogName("1")}, DropStores: []string{"1"},
		Positions: map[string]Position{"2": {Seq: 2, Last: last}}, Rebind: map[*Journal]string{j2: ""}}); err != nil {
		t.Fatal(err)
	}
	putContainer(t, j2, 3, "new", false) // no log to feed
	db = reopen(t, db)
	if r, err := db.Roles(); err != nil || r.Primary != "2" || r.Secondary != "" {
		t.Fatalf("roles: %+v %v", r, err)
	}
	if names, _ := containers(t, db, "1"); len(names) != 0 {
		t.Fatalf("dropped store 1 still holds %v", names)
	}
	if names, pos := containers(t, db, "2"); !slices.Equal(names, []string{"kept", "new"}) || pos.Seq != 3 {
		t.Fatalf("store 2: %v at %+v", names, pos)
	}
	for _, l := range []string{LogName("1"), LogName("2")} {
		if got := pendingSeqs(t, db, l); len(got) != 0 {
			t.Fatalf("%s = %v", l, got)
		}
	}
	if id, err := db.NewStoreID(); err != nil || id != "3" {
		t.Fatalf("NewStoreID = %q %v, want 3 (1 was used)", id, err)
	}
}

// TestDropUnused: a secondary being built when the process died (its
// store and log written, the role change not) is removed at the next
// start; what the roles name is kept.
func TestDropUnused(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ChangeRoles(RoleChange{Roles: Roles{Primary: "2"}, DropStores: []string{"1"}}); err != nil {
		t.Fatal(err)
	}
	putContainer(t, db.Journal("2", ""), 1, "primary", false)
	id, err := db.NewStoreID()
	if err != nil {
		t.Fatal(err)
	}
	putContainer(t, db.Journal(id, LogName("2")), 1, "half-built", true)
	db = reopen(t, db) // the crash
	dropped, err := db.DropUnused()
	if err != nil || !slices.Equal(dropped, []string{LogName("2"), "store:" + id}) {
		t.Fatalf("DropUnused = %v %v", dropped, err)
	}
	if names, _ := containers(t, db, id); len(names) != 0 {
		t.Fatalf("half-built store %s kept %v", id, names)
	}
	if names, _ := containers(t, db, "2"); !slices.Equal(names, []string{"primary"}) {
		t.Fatalf("primary: %v", names)
	}
	if err := db.ChangeRoles(RoleChange{Roles: Roles{Primary: "2", Secondary: "2"}}); err == nil {
		t.Fatal("roles with one instance in both roles accepted")
	}
}
