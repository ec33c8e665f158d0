package durable

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/replica"
	"github.com/geoblob/geoblob/internal/store"
)

// pair is a primary and a secondary on one data directory, wired as the
// emulator wires them.
type pair struct {
	db                 *DB
	primary, secondary *store.Store
	repl               *replica.Replicator
	cancel             context.CancelFunc
	wg                 sync.WaitGroup
}

func openPair(t testing.TB, dir string, clk *clock.Manual, lag time.Duration) *pair {
	t.Helper()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := db.Roles()
	if err != nil {
		t.Fatal(err)
	}
	p := &pair{db: db}
	replLog := LogName(roles.Primary)
	p.primary = store.New(store.Options{Now: clk.Now, Journal: db.Journal(roles.Primary, replLog), Files: db.Files(),
		OnCommit: func(c store.Change) { p.repl.Enqueue(c) }})
	p.secondary = store.New(store.Options{Now: clk.Now, Journal: db.Journal(roles.Secondary, replLog), Files: db.Files()})
	if _, err := db.Load(roles.Primary, p.primary); err != nil {
		t.Fatal(err)
	}
	spos, err := db.Load(roles.Secondary, p.secondary)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := db.PendingLog(replLog, spos.Seq)
	if err != nil {
		t.Fatal(err)
	}
	p.repl = replica.New(p.secondary, replica.Options{Lag: lag, Clock: clk, Fence: p.primary.FenceNow, LastSyncTime: ResumeLastSyncTime(spos, pending)})
	for _, c := range pending {
		p.repl.Enqueue(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.repl.Run(ctx)
	}()
	t.Cleanup(p.close)
	return p
}

func (p *pair) close() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
	p.cancel = nil
	_ = p.db.Close()
}

func (p *pair) waitIdle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.repl.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, s *store.Store, acct, cont, name string) (string, error) {
	t.Helper()
	b, err := s.Blob(acct, cont, name, store.ReadOptions{})
	if err != nil {
		return "", err
	}
	var buf []byte
	w := writerFunc(func(p []byte) (int, error) { buf = append(buf, p...); return len(p), nil })
	if _, err := b.Content.WriteTo(w); err != nil {
		return "", err
	}
	return string(buf), nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func content(t *testing.T, s *store.Store, data string) store.Content {
	t.Helper()
	c, err := s.NewContent([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
