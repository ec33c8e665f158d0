package store

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Container leases. A lease on a container guards only its deletion: Delete
// Container needs the lease id while the lease is active. The other
// container operations take an optional lease id, which must then name the
// active lease. Lease actions change neither the container's ETag nor its
// Last-Modified time; they replicate as PutContainer changes.

// checkContainer enforces a container's lease (l evaluated At now) on an
// operation that carries leaseID ("" when none): required says whether an
// active lease must be named (Delete Container).
func (l Lease) checkContainer(leaseID string, required bool) error {
	active := l.State == LeaseLeased || l.State == LeaseBreaking
	switch {
	case leaseID == "" && active && required:
		return ErrContainerLeaseIDMissing
	case leaseID == "":
		return nil
	case !active:
		return ErrContainerLeaseNotPresent
	case leaseID != l.ID:
		return ErrContainerLeaseIDMismatch
	}
	return nil
}

// containerLeaseErr words a lease action's error for a container: the codes
// are those of blob leases, the messages name the container.
func containerLeaseErr(err error) error {
	var e *Error
	if errors.As(err, &e) && strings.Contains(e.Message, "blob") {
		return newErr(e.Code, strings.ReplaceAll(e.Message, "blob", "container"))
	}
	return err
}

// LeaseContainer runs a Lease Container action (acquire, renew, change,
// release, break) with the rules of Lease Blob.
func (s *Store) LeaseContainer(acct, name string, req LeaseRequest, cond Conditions) (LeaseResult, error) {
	var res LeaseResult
	a, c, err := s.lockCont(acct, name)
	if err != nil {
		return res, err
	}
	defer a.mu.Unlock()
	if err := cond.checkWrite(true, c.props.ETag, c.props.LastModified); err != nil {
		return res, err
	}
	now := s.now()
	lease, res, err := c.props.Lease.At(now).apply(req, now, uuid.NewString)
	if err != nil {
		return res, containerLeaseErr(err)
	}
	p := *c.props
	p.Lease = lease
	res.ETag, res.LastModified = p.ETag, p.LastModified
	if err := s.commit(a, func(time.Time, string) Change {
		c.props = &p
		return Change{Kind: PutContainer, Account: acct, Container: name, Props: &p}
	}); err != nil {
		return LeaseResult{}, err
	}
	return res, nil
}

// ContainerLeased is Container for an operation that names a lease id:
// when leaseID is not empty it must name the container's active lease.
func (s *Store) ContainerLeased(acct, name, leaseID string) (*Container, error) {
	a, c, err := s.rlockCont(acct, name)
	if err != nil {
		return nil, err
	}
	defer a.mu.RUnlock()
	if err := c.props.Lease.At(s.now()).checkContainer(leaseID, false); err != nil {
		return nil, err
	}
	return c.props, nil
}

// DeleteContainerLeased is DeleteContainer with the lease id of the
// request: required while the container has an active lease.
func (s *Store) DeleteContainerLeased(acct, name, leaseID string, cond Conditions) error {
	return s.deleteContainer(acct, name, leaseID, cond)
}

// SetContainerMetadataLeased is SetContainerMetadata with the optional
// lease id of the request.
func (s *Store) SetContainerMetadataLeased(acct, name string, meta map[string]string, leaseID string, cond Conditions) (*Container, error) {
	return s.updateContainer(acct, name, leaseID, cond, func(p *Container) { p.Metadata = meta })
}

// SetContainerACLLeased is SetContainerACL with the optional lease id of
// the request.
func (s *Store) SetContainerACLLeased(acct, name, publicAccess string, acl []SignedIdentifier, leaseID string, cond Conditions) (*Container, error) {
	return s.updateContainer(acct, name, leaseID, cond, func(p *Container) {
		p.PublicAccess = publicAccess
		p.ACL = acl
	})
}
