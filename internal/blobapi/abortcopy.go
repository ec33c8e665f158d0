package blobapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/store"
)

// opAbortCopy is Abort Copy Blob: PUT ?comp=copy&copyid=ID with
// x-ms-copy-action: abort. It needs write permission on the destination.
var opAbortCopy = &op{name: "AbortCopyBlob", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).abortCopy}

// abortCopy answers Abort Copy Blob. The emulator's copies finish before
// Copy Blob answers, so no copy is ever pending: after the checks Azure
// makes first (the request's form, the blob, its lease) the answer is 409
// NoPendingCopyOperation, as Azure gives for a copy that has completed.
func (c *call) abortCopy() {
	if c.r.URL.Query().Get("copyid") == "" {
		c.fail(http.StatusBadRequest, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified.",
			azerr.NewDetail("QueryParameterName", "copyid"))
		return
	}
	action := c.r.Header.Get("X-Ms-Copy-Action")
	switch {
	case action == "":
		c.missingHeader("x-ms-copy-action")
		return
	case !strings.EqualFold(action, "abort"):
		c.badHeader("x-ms-copy-action", action)
		return
	}
	err := c.st.AbortCopy(c.addr.Account, c.addr.Container, c.addr.Blob, c.leaseID())
	if errors.Is(err, store.ErrNoPendingCopy) {
		c.fail(http.StatusConflict, store.ErrNoPendingCopy.Code, store.ErrNoPendingCopy.Message)
		return
	}
	if err != nil {
		c.storeErr(err)
		return
	}
	c.ok(http.StatusNoContent)
}
