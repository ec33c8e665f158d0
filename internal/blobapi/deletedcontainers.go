package blobapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/store"
)

// Container soft delete: Delete Container keeps the container for the
// account's container retention, List Containers include=deleted lists the
// kept versions, and Restore Container brings one back.
//
// Azure configures container soft delete through the management plane
// (the storage account's blob service resource, containerDeleteRetentionPolicy),
// which the emulator does not serve. The emulator takes the same setting
// as an element of Set Blob Service Properties,
// <ContainerDeleteRetentionPolicy><Enabled>true</Enabled><Days>N</Days></ContainerDeleteRetentionPolicy>,
// validated like DeleteRetentionPolicy (Days 1 to 365, required when
// enabled) and echoed by Get Blob Service Properties.

var opRestoreContainer = &op{name: "RestoreContainer", write: true, perm: auth.PermWrite, rt: auth.ResourceContainer, run: (*call).restoreContainer}

// containerRetention is the store.RetentionFunc of Delete Container: the
// period of the stored ContainerDeleteRetentionPolicy, 0 when it is off.
func containerRetention(doc []byte) time.Duration {
	if doc == nil {
		return 0
	}
	root, err := parseServiceProperties(doc)
	if err != nil {
		return 0 // the stored document is always one this package wrote
	}
	p := root.child("ContainerDeleteRetentionPolicy")
	if p == nil {
		return 0
	}
	if e := p.child("Enabled"); e == nil || e.text != "true" {
		return 0
	}
	d := p.child("Days")
	if d == nil {
		return 0
	}
	days, err := strconv.Atoi(d.text)
	if err != nil || days <= 0 {
		return 0
	}
	return time.Duration(days) * 24 * time.Hour
}

// checkContainerRetention refuses a ContainerDeleteRetentionPolicy that is
// enabled without its days.
func checkContainerRetention(u *spNode) error {
	p := u.child("ContainerDeleteRetentionPolicy")
	if p == nil {
		return nil
	}
	if e := p.child("Enabled"); e != nil && e.text == "true" && p.child("Days") == nil {
		return fmt.Errorf("%w: <ContainerDeleteRetentionPolicy> needs <Days> when it is enabled", errInvalidNodeValue)
	}
	return nil
}

// restoreContainer answers Restore Container: PUT
// /container?restype=container&comp=undelete with x-ms-deleted-container-name
// and x-ms-deleted-container-version, 201 Created.
func (c *call) restoreContainer() {
	name := c.r.Header.Get("x-ms-deleted-container-name")
	if name == "" {
		c.missingHeader("x-ms-deleted-container-name")
		return
	}
	version := c.r.Header.Get("x-ms-deleted-container-version")
	if version == "" {
		c.missingHeader("x-ms-deleted-container-version")
		return
	}
	if name != c.addr.Container {
		// Azure no longer restores a container under another name (the
		// SDKs deprecated their destination name option for that reason).
		c.fail(http.StatusBadRequest, "InvalidHeaderValue",
			"The value for one of the HTTP headers is not in the correct format: a deleted container is restored only under its own name, the container of the request URI.")
		return
	}
	if _, err := c.st.UndeleteContainer(c.addr.Account, name, version); err != nil {
		c.storeErr(err)
		return
	}
	c.w.Header().Set("Content-Length", "0")
	c.ok(http.StatusCreated)
}

// deletedContainerElems writes the elements of a deleted container in
// <Properties> of List Containers.
func (c *call) deletedContainerElems(b *xmlBuf, d *store.ContainerDeletion) {
	b.elem("DeletedTime", httpTime(d.Time))
	b.elem("RemainingRetentionDays", strconv.Itoa(d.RemainingDays(c.now)))
}
