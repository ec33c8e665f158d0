package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/geoblob/geoblob"
)

// Unknown is the kind Classify gives an error it cannot explain; a run
// treats any such error as a failure to investigate.
const Unknown = "unknown"

// Classify names the kind of an error a client call returned under faults:
//
//	geoblob:<sentinel>   a decision of the geoblob router (both unavailable,
//	                     primary unavailable, too stale, attempt timeout)
//	http:<status> <code> an Azure error answer
//	timeout, canceled    the caller's context ended
//	reset, refused       a connection reset or refused
//	eof                  a body or answer cut short
//	net                  another network error
//	wrong-bytes          a body that Verify rejected
//
// and Unknown for anything else. It returns "" for nil.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	for _, s := range []struct {
		err  error
		kind string
	}{
		{ErrWrongBytes, "wrong-bytes"},
		{geoblob.ErrBothUnavailable, "geoblob:both-unavailable"},
		{geoblob.ErrPrimaryUnavailable, "geoblob:primary-unavailable"},
		{geoblob.ErrTooStale, "geoblob:too-stale"},
		{geoblob.ErrAttemptTimeout, "geoblob:attempt-timeout"},
	} {
		if errors.Is(err, s.err) {
			return s.kind
		}
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("http:%d %s", re.StatusCode, re.ErrorCode)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "eof"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "net"
	}
	return Unknown
}
