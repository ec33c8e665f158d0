package emulator

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/geoblob/geoblob/internal/durable"
	"github.com/geoblob/geoblob/internal/store"
)

// With a data directory the roles are durable: the emulator's RoleState,
// and which store instance of the directory each copy is, are kept in the
// directory's roles record (durable.Roles.State) and rewritten, in the
// same transaction as the replication log bindings, at every role change.

// persistedRoles is the emulator's part of the roles record.
type persistedRoles struct {
	State RoleState `json:"state"`
	// Copies maps each copy that exists ("a", "b") to its store instance
	// id in the data directory.
	Copies map[string]string `json:"copies"`
}

// bootRoles is what openDataDir restored, for newRoles.
type bootRoles struct {
	state    RoleState
	copies   map[string]*store.Store
	ids      map[string]string
	journals map[string]*durable.Journal
}

// openDataDir opens Options.DataDir and restores the copies and their
// roles from it (e.primary, e.secondary and e.boot), returning the changes
// the secondary has still to apply and the LastSyncTime to resume from.
func (e *Emulator) openDataDir() ([]store.Change, time.Time, error) {
	db, err := durable.Open(e.opts.DataDir, durable.Options{Logger: e.log})
	if err != nil {
		return nil, time.Time{}, err
	}
	pending, since, err := e.restoreRoles(db)
	if err != nil {
		_ = db.Close()
		return nil, time.Time{}, err
	}
	e.db = db
	return pending, since, nil
}

func (e *Emulator) restoreRoles(db *durable.DB) ([]store.Change, time.Time, error) {
	roles, err := db.Roles()
	if err != nil {
		return nil, time.Time{}, err
	}
	pr, err := decodeRoles(roles)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %s: %w; restore it from a backup or move the directory away to start empty", durable.ErrCorrupt, db.Dir(), err)
	}
	dropped, err := db.DropUnused()
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(dropped) > 0 {
		e.log.Warn("data dir: removed what an interrupted role change left", "buckets", dropped)
	}
	st := pr.State
	boot := &bootRoles{state: st, copies: map[string]*store.Store{}, ids: pr.Copies, journals: map[string]*durable.Journal{}}
	replLog := ""
	if st.GeoRedundant {
		replLog = durable.LogName(roles.Primary)
	}
	pc, sc := st.Primary, otherCopy(st.Primary)
	boot.journals[pc] = db.Journal(roles.Primary, replLog)
	e.primary = e.newCopy(boot.journals[pc], db.Files())
	boot.copies[pc] = e.primary
	if _, err := db.Load(roles.Primary, e.primary); err != nil {
		return nil, time.Time{}, err
	}
	e.boot = boot
	if !st.GeoRedundant {
		e.secondary = e.primary // the blob API needs one; the roles gate refuses the secondary
		return nil, time.Time{}, nil
	}
	boot.journals[sc] = db.Journal(roles.Secondary, replLog)
	e.secondary = e.newCopy(boot.journals[sc], db.Files())
	boot.copies[sc] = e.secondary
	spos, err := db.Load(roles.Secondary, e.secondary)
	if err != nil {
		return nil, time.Time{}, err
	}
	pending, err := db.PendingLog(replLog, spos.Seq)
	if err != nil {
		return nil, time.Time{}, err
	}
	return pending, durable.ResumeLastSyncTime(spos, pending), nil
}

// decodeRoles reads the emulator's record of the roles, or the first roles
// (a primary, b secondary) from a directory no role change has touched,
// and checks that it agrees with the instance ids of roles.
func decodeRoles(roles durable.Roles) (persistedRoles, error) {
	if len(roles.State) == 0 {
		if roles.Secondary == "" {
			return persistedRoles{}, fmt.Errorf("roles record without a secondary nor a role state")
		}
		return persistedRoles{State: RoleState{Epoch: 1, Primary: CopyA, GeoRedundant: true},
			Copies: map[string]string{CopyA: roles.Primary, CopyB: roles.Secondary}}, nil
	}
	var pr persistedRoles
	if err := json.Unmarshal(roles.State, &pr); err != nil {
		return pr, fmt.Errorf("role state: %w", err)
	}
	st := pr.State
	ok := (st.Primary == CopyA || st.Primary == CopyB) && pr.Copies[st.Primary] == roles.Primary &&
		st.GeoRedundant == (roles.Secondary != "")
	if ok && st.GeoRedundant {
		ok = pr.Copies[otherCopy(st.Primary)] == roles.Secondary
	}
	if !ok {
		return pr, fmt.Errorf("role state %s does not match the roles %s/%s", roles.State, roles.Primary, roles.Secondary)
	}
	return pr, nil
}

// persist records st, the copies' instance ids and rc in the data
// directory, in one transaction after every record submitted before;
// without a data directory it does nothing. Callers hold r.mu.
func (r *roles) persist(st RoleState, ids map[string]string, rc durable.RoleChange) error {
	if r.e.db == nil {
		return nil
	}
	data, err := json.Marshal(persistedRoles{State: st, Copies: ids})
	if err != nil {
		return err
	}
	rc.Roles = durable.Roles{Primary: ids[st.Primary], State: data}
	if st.GeoRedundant {
		rc.Roles.Secondary = ids[otherCopy(st.Primary)]
	}
	if err := r.e.db.ChangeRoles(rc); err != nil {
		return fmt.Errorf("emulator: recording the roles in the data directory: %w", err)
	}
	return nil
}

// persistState records a change of st alone (bootstrap over, secondary
// down or back). Callers hold r.mu.
func (r *roles) persistState(st RoleState) error {
	return r.persist(st, r.ids, durable.RoleChange{})
}

// position is where s stands, as the data directory records it.
func position(s *store.Store) durable.Position {
	seq, t := s.CommitPoint()
	return durable.Position{Seq: seq, Last: t}
}

func cloneIDs(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
