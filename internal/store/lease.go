package store

import "time"

// LeaseState is the state of a blob's lease as Azure reports it.
type LeaseState string

// Lease states.
const (
	LeaseAvailable LeaseState = "available"
	LeaseLeased    LeaseState = "leased"
	LeaseExpired   LeaseState = "expired"
	LeaseBreaking  LeaseState = "breaking"
	LeaseBroken    LeaseState = "broken"
)

// Lease is the lease on a blob. Its zero value is an available lease.
type Lease struct {
	State    LeaseState
	ID       string
	Duration int       // seconds; -1 for an infinite lease
	Expires  time.Time // end of a finite lease
	BreakAt  time.Time // end of the break period while breaking
}

// At returns the lease as it stands at now: finite leases expire and
// breaking leases become broken as time passes.
func (l Lease) At(now time.Time) Lease {
	switch l.State {
	case "":
		l.State = LeaseAvailable
	case LeaseLeased:
		if l.Duration > 0 && !now.Before(l.Expires) {
			l.State = LeaseExpired
		}
	case LeaseBreaking:
		if !now.Before(l.BreakAt) {
			l.State = LeaseBroken
		}
	}
	return l
}

// Status is "locked" while the lease is held or breaking, else "unlocked".
func (l Lease) Status() string {
	if l.State == LeaseLeased || l.State == LeaseBreaking {
		return "locked"
	}
	return "unlocked"
}

// DurationType is "infinite" or "fixed" for a held lease, "" otherwise.
func (l Lease) DurationType() string {
	if l.State != LeaseLeased {
		return ""
	}
	if l.Duration < 0 {
		return "infinite"
	}
	return "fixed"
}

// checkWrite enforces a lease on a write that carries leaseID ("" when the
// request named none). l must already be evaluated At the current time.
func (l Lease) checkWrite(leaseID string) error {
	switch l.State {
	case LeaseLeased, LeaseBreaking:
		if leaseID == "" {
			return ErrLeaseIDMissing
		}
		if leaseID != l.ID {
			return ErrLeaseIDMismatch
		}
	case LeaseExpired:
		if leaseID != "" && leaseID != l.ID {
			return ErrLeaseIDMismatch
		}
	default:
		if leaseID != "" {
			return ErrLeaseNotPresent
		}
	}
	return nil
}

// checkRead enforces a lease id given on a read: it must match an active lease.
func (l Lease) checkRead(leaseID string) error {
	if leaseID == "" {
		return nil
	}
	if l.State != LeaseLeased && l.State != LeaseBreaking {
		return ErrLeaseNotPresent
	}
	if leaseID != l.ID {
		return ErrLeaseIDMismatch
	}
	return nil
}

// LeaseAction is a Lease Blob operation.
type LeaseAction string

// Lease Blob actions.
const (
	LeaseAcquire LeaseAction = "acquire"
	LeaseRenew   LeaseAction = "renew"
	LeaseRelease LeaseAction = "release"
	LeaseBreak   LeaseAction = "break"
	LeaseChange  LeaseAction = "change"
)

// LeaseRequest is one Lease Blob call.
type LeaseRequest struct {
	Action      LeaseAction
	ID          string // x-ms-lease-id
	ProposedID  string // x-ms-proposed-lease-id
	Duration    int    // acquire: -1 or 15..60
	BreakPeriod int    // break: 0..60, or -1 when not given
	// IfTags is the x-ms-if-tags condition of Lease Blob; nil when absent.
	IfTags TagCondition
}

// LeaseResult is what a Lease Blob call returns.
type LeaseResult struct {
	ID           string
	TimeLeft     int // break: seconds until the lease is broken
	ETag         string
	LastModified time.Time
}

// apply runs a lease action on l (already evaluated At now). newID is used
// when acquiring without a proposed id.
func (l Lease) apply(req LeaseRequest, now time.Time, newID func() string) (Lease, LeaseResult, error) {
	var res LeaseResult
	switch req.Action {
	case LeaseAcquire:
		if req.Duration != -1 && (req.Duration < 15 || req.Duration > 60) {
			return l, res, ErrInvalidLeaseDuration
		}
		id := req.ProposedID
		switch l.State {
		case LeaseLeased:
			if id == "" || id != l.ID {
				return l, res, ErrLeaseAlreadyPresent
			}
		case LeaseBreaking:
			if id != "" && id == l.ID {
				return l, res, ErrLeaseIsBreakingAndCannotAcq
			}
			return l, res, ErrLeaseAlreadyPresent
		}
		if id == "" {
			id = newID()
		}
		l = Lease{State: LeaseLeased, ID: id, Duration: req.Duration}
		if req.Duration > 0 {
			l.Expires = now.Add(time.Duration(req.Duration) * time.Second)
		}
		res.ID = id
	case LeaseRenew:
		if l.State == LeaseAvailable {
			return l, res, ErrLeaseNotPresentWithLeaseOp
		}
		if req.ID != l.ID {
			return l, res, ErrLeaseIDMismatchWithLeaseOp
		}
		switch l.State {
		case LeaseBroken, LeaseBreaking:
			return l, res, ErrLeaseIsBrokenAndCannotRenew
		}
		l.State = LeaseLeased
		if l.Duration > 0 {
			l.Expires = now.Add(time.Duration(l.Duration) * time.Second)
		}
		res.ID = l.ID
	case LeaseChange:
		if l.State != LeaseLeased && l.State != LeaseBreaking {
			return l, res, ErrLeaseNotPresentWithLeaseOp
		}
		if req.ID != l.ID && req.ProposedID != l.ID {
			return l, res, ErrLeaseIDMismatchWithLeaseOp
		}
		if l.State == LeaseBreaking {
			return l, res, ErrLeaseIsBreakingAndCannotChg
		}
		l.ID = req.ProposedID
		res.ID = l.ID
	case LeaseRelease:
		if l.State == LeaseAvailable {
			return l, res, ErrLeaseNotPresentWithLeaseOp
		}
		if req.ID != l.ID {
			return l, res, ErrLeaseIDMismatchWithLeaseOp
		}
		l = Lease{State: LeaseAvailable}
	case LeaseBreak:
		if req.BreakPeriod > 60 {
			return l, res, ErrInvalidLeaseBreakPeriod
		}
		switch l.State {
		case LeaseAvailable:
			return l, res, ErrLeaseNotPresentWithLeaseOp
		case LeaseExpired, LeaseBroken:
			l.State = LeaseBroken
		case LeaseLeased, LeaseBreaking:
			var at time.Time
			switch {
			case req.BreakPeriod >= 0:
				at = now.Add(time.Duration(req.BreakPeriod) * time.Second)
				if l.State == LeaseLeased && l.Duration > 0 && l.Expires.Before(at) {
					at = l.Expires
				}
				if l.State == LeaseBreaking && l.BreakAt.Before(at) {
					at = l.BreakAt
				}
			case l.State == LeaseBreaking:
				at = l.BreakAt
			case l.Duration > 0:
				at = l.Expires
			default:
				at = now
			}
			if !at.After(now) {
				l.State = LeaseBroken
				l.BreakAt = now
			} else {
				l.State = LeaseBreaking
				l.BreakAt = at
				res.TimeLeft = int((at.Sub(now) + time.Second - 1) / time.Second)
			}
		}
	default:
		return l, res, newErr("InvalidHeaderValue", "The value for x-ms-lease-action is invalid.")
	}
	return l, res, nil
}
