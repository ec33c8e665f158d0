package store

// Error is a storage condition with its Azure error code. The REST layer maps
// the code to an HTTP status. The sentinels below are compared with
// errors.Is.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newErr(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Sentinel errors, named after their Azure error codes.
var (
	ErrContainerNotFound      = newErr("ContainerNotFound", "The specified container does not exist.")
	ErrContainerAlreadyExists = newErr("ContainerAlreadyExists", "The specified container already exists.")
	ErrContainerBeingDeleted  = newErr("ContainerBeingDeleted", "The specified container is being deleted.")
	ErrBlobNotFound           = newErr("BlobNotFound", "The specified blob does not exist.")
	ErrBlobAlreadyExists      = newErr("BlobAlreadyExists", "The specified blob already exists.")
	ErrConditionNotMet        = newErr("ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
	ErrNotModified            = newErr("ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
	ErrInvalidBlockList       = newErr("InvalidBlockList", "The specified block list is invalid.")
	ErrInvalidBlockID         = newErr("InvalidBlockId", "The specified block ID is invalid. The block ID must be Base64-encoded.")
	ErrInvalidBlobOrBlock     = newErr("InvalidBlobOrBlock", "The specified blob or block content is invalid.")
	ErrBlockCountExceeded     = newErr("BlockCountExceedsLimit", "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.")
	ErrBlockListTooLong       = newErr("BlockListTooLong", "The block list may not contain more than 50,000 blocks.")
	// ErrStagedBytesExceeded is the emulator's own limit, not Azure's: an
	// account's uncommitted blocks may hold at most Options.MaxStagedBytes.
	ErrStagedBytesExceeded = newErr("StagedBlockBytesLimitExceeded", "The uncommitted blocks of this account would exceed the emulator's limit on staged bytes "+
		"(emulator.Options.MaxStagedBytes, geoblob serve --max-staged-bytes). Commit or delete uncommitted blocks, wait for them to expire, or raise the limit.")
	ErrInvalidRange = newErr("InvalidRange", "The range specified is invalid for the current size of the resource.")

	ErrLeaseIDMissing              = newErr("LeaseIdMissing", "There is currently a lease on the blob and no lease ID was specified in the request.")
	ErrLeaseIDMismatch             = newErr("LeaseIdMismatchWithBlobOperation", "The lease ID specified did not match the lease ID for the blob.")
	ErrLeaseNotPresent             = newErr("LeaseNotPresentWithBlobOperation", "There is currently no lease on the blob.")
	ErrLeaseAlreadyPresent         = newErr("LeaseAlreadyPresent", "There is already a lease present.")
	ErrLeaseIDMismatchWithLeaseOp  = newErr("LeaseIdMismatchWithLeaseOperation", "The lease ID specified did not match the lease ID for the blob.")
	ErrLeaseNotPresentWithLeaseOp  = newErr("LeaseNotPresentWithLeaseOperation", "There is currently no lease on the blob.")
	ErrLeaseIsBrokenAndCannotRenew = newErr("LeaseIsBrokenAndCannotBeRenewed", "The lease ID matched, but the lease has been broken explicitly and cannot be renewed.")
	ErrLeaseIsBreakingAndCannotAcq = newErr("LeaseIsBreakingAndCannotBeAcquired", "The lease ID matched, but the lease is currently in breaking state and cannot be acquired until it is broken.")
	ErrLeaseIsBreakingAndCannotChg = newErr("LeaseIsBreakingAndCannotBeChanged", "The lease ID matched, but the lease is currently in breaking state and cannot be changed.")
	ErrContainerLeaseIDMissing     = newErr("LeaseIdMissing", "There is currently a lease on the container and no lease ID was specified in the request.")
	ErrContainerLeaseIDMismatch    = newErr("LeaseIdMismatchWithContainerOperation", "The lease ID specified did not match the lease ID for the container.")
	ErrContainerLeaseNotPresent    = newErr("LeaseNotPresentWithContainerOperation", "There is currently no lease on the container.")
	ErrInvalidLeaseDuration        = newErr("InvalidHeaderValue", "The value for the lease duration is invalid: it must be -1 or between 15 and 60 seconds.")
	ErrInvalidLeaseBreakPeriod     = newErr("InvalidHeaderValue", "The value for the lease break period is invalid: it must be between 0 and 60 seconds.")
	ErrCannotVerifyCopySource      = newErr("CannotVerifyCopySource", "The specified copy source does not exist.")
	ErrPendingCopyOperation        = newErr("PendingCopyOperation", "There is currently a pending copy operation.")
)
