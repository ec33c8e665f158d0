package emulator

import (
	"time"

	"github.com/geoblob/geoblob/internal/replica"
)

// LagModel draws the replication lag of each write (Options.LagModel). A
// write never reaches the secondary before the writes committed ahead of
// it, so a long draw holds back those behind it, as in a real replication
// stream; LastSyncTime follows.
type LagModel = replica.LagModel

// ErrInvalidLagModel is wrapped by every error ParseLagModel returns.
var ErrInvalidLagModel = replica.ErrInvalidLagModel

// ConstantLag is the model of every write lagging d.
func ConstantLag(d time.Duration) LagModel { return replica.Constant(d) }

// JitterLag is a bound with jitter: base plus a uniform extra in
// [0, jitter), drawn from a generator seeded with seed.
func JitterLag(base, jitter time.Duration, seed uint64) LagModel {
	return replica.NewJitter(base, jitter, seed)
}

// TailLag models a service-level promise: a share p of writes lag an
// exponential time of mean typical, kept under bound; the rest lag a
// uniform time in [bound, max). Zero bound, p and max take Geo Priority
// Replication's promise: LastSyncTime within 15 minutes for 99% of the
// time, with the rest under an hour.
func TailLag(typical, bound time.Duration, p float64, max time.Duration, seed uint64) LagModel {
	if max == 0 && bound == 0 {
		max = time.Hour
	}
	return replica.NewTail(typical, bound, p, max, seed)
}

// GeoPriorityLag is TailLag(30s, 15m, 0.99, 1h, seed): Geo Priority
// Replication's promise with a typical lag of half a minute.
func GeoPriorityLag(seed uint64) LagModel {
	return replica.NewTail(30*time.Second, replica.GPRBound, replica.GPRShare, time.Hour, seed)
}

// ParseLagModel reads a lag model as geoblob serve --lag-model takes it:
// constant:D, jitter:BASE,JITTER, tail:TYPICAL[,BOUND,P,MAX] or gpr, each
// optionally followed by ,seed=N (else seed is used).
func ParseLagModel(spec string, seed uint64) (LagModel, error) {
	return replica.ParseLagModel(spec, seed)
}
