package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/geoblob/geoblob"
)

func TestClassify(t *testing.T) {
	re := &azcore.ResponseError{StatusCode: http.StatusServiceUnavailable, ErrorCode: "ServerBusy"}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("get: %w", re), "http:503 ServerBusy"},
		{&geoblob.Error{Kind: geoblob.ErrBothUnavailable, Primary: re}, "geoblob:both-unavailable"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout"},
		{context.Canceled, "canceled"},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), "reset"},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), "refused"},
		{io.ErrUnexpectedEOF, "eof"},
		{fmt.Errorf("%w: torn", ErrWrongBytes), "wrong-bytes"},
		{errors.New("something else"), Unknown},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
