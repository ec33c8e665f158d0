package blobapi

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/geoblob/geoblob/internal/store"
)

// listOptions reads prefix, marker and maxresults. It answers the request
// and returns false when maxresults is invalid.
func (c *call) listOptions() (store.ListOptions, bool) {
	o := store.ListOptions{Prefix: c.q.Get("prefix"), Marker: decodeMarker(c.q.Get("marker"))}
	if v := c.q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			c.badQuery("maxresults", v, "maxresults must be a positive integer.")
			return o, false
		}
		o.MaxResults = min(n, store.MaxListResults)
	}
	return o, true
}

// The include values of List Blobs and List Containers in the Azure REST
// reference. The emulator accepts them all, returning what it models,
// but List Blobs refuses deletedwithversions with 501 (container.go).
var (
	listBlobsInclude = []string{"copy", "deleted", "deletedwithversions", "immutabilitypolicy", "legalhold",
		"metadata", "permissions", "snapshots", "tags", "uncommittedblobs", "versions"}
	listContainersInclude = []string{"deleted", "metadata", "system"}
)

// validInclude checks a comma-separated include parameter against the
// allowed values. It answers 400 InvalidQueryParameterValue, as Azure does,
// and returns false for an unknown value.
func (c *call) validInclude(include string, allowed []string) bool {
	if include == "" {
		return true
	}
	for _, v := range strings.Split(include, ",") {
		if !slices.Contains(allowed, strings.ToLower(strings.TrimSpace(v))) {
			c.badQuery("include", include, "include must be a comma-separated list of: "+strings.Join(allowed, ", ")+".")
			return false
		}
	}
	return true
}

func maxResults(o store.ListOptions) int {
	if o.MaxResults <= 0 {
		return store.MaxListResults
	}
	return o.MaxResults
}

func (c *call) listContainers() {
	o, ok := c.listOptions()
	if !ok {
		return
	}
	if !c.validInclude(c.q.Get("include"), listContainersInclude) {
		return
	}
	withMeta := hasToken(c.q.Get("include"), "metadata")
	var page store.ContainerPage
	if hasToken(c.q.Get("include"), "deleted") {
		page = c.st.ListContainersWithDeleted(c.addr.Account, o)
	} else {
		page = c.st.ListContainers(c.addr.Account, o)
	}
	b := c.streamXML(http.StatusOK)
	defer b.done()
	b.WriteString(`<EnumerationResults ServiceEndpoint="`)
	b.text(c.serviceEndpoint())
	b.WriteString(`">`)
	b.opt("Prefix", o.Prefix)
	b.opt("Marker", c.q.Get("marker"))
	if c.q.Has("maxresults") {
		b.elem("MaxResults", strconv.Itoa(maxResults(o)))
	}
	b.open("Containers")
	for _, p := range page.Containers {
		if b.failed() {
			return
		}
		b.open("Container")
		b.elem("Name", p.Name)
		if p.Deleted != nil {
			b.elem("Deleted", "true")
			b.elem("Version", p.Deleted.Version)
		}
		b.open("Properties")
		b.elem("Last-Modified", httpTime(p.LastModified))
		b.elem("Etag", p.ETag)
		if p.Deleted != nil {
			// As Azure lists a deleted container's lease.
			b.elem("LeaseStatus", "unlocked")
			b.elem("LeaseState", "expired")
		} else {
			l := p.Lease.At(c.now)
			b.elem("LeaseStatus", l.Status())
			b.elem("LeaseState", string(l.State))
			b.opt("LeaseDuration", l.DurationType())
		}
		b.opt("PublicAccess", p.PublicAccess)
		b.elem("HasImmutabilityPolicy", "false")
		b.elem("HasLegalHold", "false")
		if p.Deleted != nil {
			c.deletedContainerElems(b, p.Deleted)
		}
		b.close("Properties")
		if withMeta {
			b.metadata(p.Metadata)
		}
		b.close("Container")
	}
	b.close("Containers")
	b.elem("NextMarker", encodeMarker(page.NextMarker))
	b.close("EnumerationResults")
}

// defaultServiceProperties is returned until Set Service Properties runs.
const defaultServiceProperties = `<?xml version="1.0" encoding="utf-8"?>` +
	`<StorageServiceProperties>` +
	`<Logging><Version>1.0</Version><Delete>false</Delete><Read>false</Read><Write>false</Write><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging>` +
	`<HourMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics>` +
	`<MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></MinuteMetrics>` +
	`<Cors />` +
	`<DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy>` +
	`<StaticWebsite><Enabled>false</Enabled></StaticWebsite>` +
	`</StorageServiceProperties>`

func (c *call) getServiceProperties() {
	doc := c.st.ServiceProperties(c.addr.Account)
	if doc == nil {
		doc = []byte(defaultServiceProperties)
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	c.ok(http.StatusOK)
	_, _ = c.w.Write(doc)
}

// setServiceProperties stores the document, replacing the top-level
// elements it names and keeping the others, as Azure does. The merge runs
// under the account's lock, so concurrent calls never lose an
// acknowledged update.
func (c *call) setServiceProperties() {
	if c.r.ContentLength > maxServicePropertiesBody {
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
		return
	}
	body, ok := c.readXMLBody()
	if !ok {
		return
	}
	err := c.st.UpdateServiceProperties(c.addr.Account, func(cur []byte) ([]byte, error) {
		if cur == nil {
			cur = []byte(defaultServiceProperties)
		}
		return mergeServiceProperties(cur, body)
	})
	switch {
	case errors.Is(err, errXMLTooLarge):
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
	case errors.Is(err, errInvalidNodeValue):
		c.fail(http.StatusBadRequest, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct format. "+err.Error())
	case errors.Is(err, errUnmodelledSetting):
		c.notImplementedFeature(strings.TrimPrefix(err.Error(), errUnmodelledSetting.Error()+": ") + " (enabling it is refused rather than stored and ignored)")
	case err != nil:
		c.invalidXML(err)
	default:
		c.ok(http.StatusAccepted)
	}
}

// getServiceStats answers Get Blob Service Stats, which Azure serves only
// on the secondary.
func (c *call) getServiceStats() {
	if c.addr.Location != Secondary {
		c.badQuery("comp", "stats", "Get Blob Service Stats is only valid on the secondary location.")
		return
	}
	status, last := "live", c.now
	if c.s.cfg.Stats != nil {
		status, last = c.s.cfg.Stats(c.addr.Account)
	}
	b := newXML()
	b.open("StorageServiceStats")
	b.open("GeoReplication")
	b.elem("Status", status)
	if !last.IsZero() { // omitted while nothing has been synchronised
		b.elem("LastSyncTime", httpTime(last))
	}
	b.close("GeoReplication")
	b.close("StorageServiceStats")
	c.sendXML(http.StatusOK, b)
}

// accountInfo answers Get Account Information.
func (c *call) accountInfo() {
	h := c.w.Header()
	sku := "Standard_RAGRS"
	if c.s.cfg.SKU != nil {
		sku = c.s.cfg.SKU(c.addr.Account)
	}
	h.Set("x-ms-sku-name", sku)
	h.Set("x-ms-account-kind", "StorageV2")
	h.Set("x-ms-is-hns-enabled", "false")
	h.Set("Content-Length", "0")
	c.ok(http.StatusOK)
}
