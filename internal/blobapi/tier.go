package blobapi

import (
	"net/http"
	"strings"

	"github.com/geoblob/geoblob/internal/store"
)

// setBlobTier answers Set Blob Tier: 200 when the tier changed at once,
// 202 when an archived blob starts rehydrating.
func (c *call) setBlobTier() {
	h := c.r.Header
	v := h.Get("x-ms-access-tier")
	if v == "" {
		c.missingHeader("x-ms-access-tier")
		return
	}
	tier, ok := normaliseTier(v)
	if !ok {
		c.badHeader("x-ms-access-tier", v)
		return
	}
	prio := ""
	if p := h.Get("x-ms-rehydrate-priority"); p != "" {
		switch {
		case strings.EqualFold(p, store.RehydrateHigh):
			prio = store.RehydrateHigh
		case strings.EqualFold(p, store.RehydrateStandard):
			prio = store.RehydrateStandard
		default:
			c.badHeader("x-ms-rehydrate-priority", p)
			return
		}
	}
	pending, err := c.st.SetBlobTier(c.addr.Account, c.addr.Container, c.addr.Blob, tier, prio,
		store.WriteOptions{LeaseID: c.leaseID(), IfTags: c.tt.ifTags})
	if err != nil {
		c.storeErr(err)
		return
	}
	c.w.Header().Set("Content-Length", "0")
	if pending {
		c.ok(http.StatusAccepted)
		return
	}
	c.ok(http.StatusOK)
}

// setTierHeaders writes the tier of b as Get Blob Properties returns it.
func (c *call) setTierHeaders(h http.Header, b *store.Blob) {
	st := b.TierAt(c.now)
	h.Set("x-ms-access-tier", st.Tier)
	if st.Inferred {
		h.Set("x-ms-access-tier-inferred", "true")
	}
	if !st.ChangeTime.IsZero() {
		h.Set("x-ms-access-tier-change-time", httpTime(st.ChangeTime))
	}
	if st.ArchiveStatus != "" {
		h.Set("x-ms-archive-status", st.ArchiveStatus)
		h.Set("x-ms-rehydrate-priority", st.RehydratePriority)
	}
}

// tierElems writes the tier of b in a List Blobs <Properties>.
func (c *call) tierElems(x *xmlBuf, b *store.Blob) {
	st := b.TierAt(c.now)
	x.elem("AccessTier", st.Tier)
	if st.Inferred {
		x.elem("AccessTierInferred", "true")
	}
	if !st.ChangeTime.IsZero() {
		x.elem("AccessTierChangeTime", httpTime(st.ChangeTime))
	}
	if st.ArchiveStatus != "" {
		x.elem("ArchiveStatus", st.ArchiveStatus)
		x.elem("RehydratePriority", st.RehydratePriority)
	}
}
