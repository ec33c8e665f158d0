package emulator

import (
	"context"
	"errors"

	"github.com/geoblob/geoblob/internal/control"
)

// failoverControl adapts the emulator to the control API's failover
// endpoints.
type failoverControl struct{ e *Emulator }

// conflict marks an error the account's state causes, for a 409.
type conflict struct{ err error }

func (c conflict) Error() string        { return c.err.Error() }
func (c conflict) Unwrap() error        { return c.err }
func (c conflict) Is(target error) bool { return target == control.ErrConflict }

func stateErr(err error) error {
	if errors.Is(err, ErrFailoverRefused) || errors.Is(err, ErrNotGeoRedundant) || errors.Is(err, ErrAlreadyGeoRedundant) {
		return conflict{err}
	}
	return err
}

func (c failoverControl) Failover(ctx context.Context, req control.FailoverRequest) (control.FailoverReport, error) {
	typ, err := ParseFailoverType(req.Type)
	if err != nil {
		return control.FailoverReport{}, err
	}
	rep, err := c.e.Failover(ctx, typ, KeepSecondaryReads(req.KeepSecondaryReads))
	if err != nil {
		return control.FailoverReport{}, stateErr(err)
	}
	return reportOut(rep), nil
}

func (c failoverControl) LastFailover() *control.FailoverReport {
	rep := c.e.LastFailover()
	if rep == nil {
		return nil
	}
	out := reportOut(*rep)
	return &out
}

func (c failoverControl) Enable(ctx context.Context) error {
	return stateErr(c.e.Replication().Enable(ctx))
}

func (c failoverControl) SetSecondaryAvailable(available bool) error {
	return stateErr(c.e.Replication().SetSecondaryAvailable(available))
}

func (c failoverControl) SetLagModel(spec string, seed uint64) error {
	m, err := ParseLagModel(spec, seed)
	if err != nil {
		return err
	}
	c.e.Replication().SetLagModel(m)
	return nil
}

func reportOut(r FailoverReport) control.FailoverReport {
	out := control.FailoverReport{Type: r.Type, At: r.At, From: r.From, To: r.To, Epoch: r.Epoch,
		RecoveryPoint: r.RecoveryPoint, LostBytes: r.LostBytes, Redundancy: r.Redundancy, Lost: make([]control.LostWrite, 0, len(r.Lost))}
	for _, l := range r.Lost {
		out.Lost = append(out.Lost, control.LostWrite(l))
	}
	return out
}

// rolesOut is the roles part of the control API's replication status.
func rolesOut(st ReplicationState) *control.Roles {
	return &control.Roles{Epoch: st.Roles.Epoch, Primary: st.Roles.Primary, Redundancy: st.Roles.Redundancy(),
		BootstrapUntil: st.Roles.BootstrapUntil, SecondaryDown: st.Roles.SecondaryDown, Swapping: st.Swapping, LagModel: st.LagModel}
}
