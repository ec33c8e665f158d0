package store

import (
	"maps"
	"strings"
	"time"
)

// Access tiers of a block blob.
const (
	TierHot     = "Hot"
	TierCool    = "Cool"
	TierCold    = "Cold"
	TierArchive = "Archive"
)

// Rehydrate priorities.
const (
	RehydrateStandard = "Standard"
	RehydrateHigh     = "High"
)

// DefaultRehydrateDelay is how long a rehydration from Archive takes when
// Options.RehydrateDelay is zero. Azure takes up to 15 hours (Standard) or
// about one (High); the emulator uses one delay for both priorities.
const DefaultRehydrateDelay = time.Minute

// Errors of access tiers.
var (
	ErrBlobArchived         = newErr("BlobArchived", "This operation is not permitted on an archived blob.")
	ErrBlobBeingRehydrated  = newErr("BlobBeingRehydrated", "This operation is not permitted because the blob is being rehydrated.")
	ErrInvalidRehydrateTier = newErr("InvalidBlobTier", "The specified blob tier is invalid.")
	// ErrRehydratePriorityLowered: Set Blob Tier asked for Standard on a
	// pending High rehydration. Azure documents only raising the priority;
	// the code is that of the other conflicts with a pending rehydration.
	ErrRehydratePriorityLowered = newErr("BlobBeingRehydrated", "This operation is not permitted because the blob is being rehydrated: its rehydrate priority is High and cannot be lowered to Standard.")
)

// TierState is a blob's access tier as it stands at a given time.
type TierState struct {
	Tier       string    // the tier in effect: Archive until a rehydration completes
	Inferred   bool      // no tier was ever set: Hot, the account default
	ChangeTime time.Time // when the tier last changed; zero when inferred
	// ArchiveStatus is "rehydrate-pending-to-hot" (-cool, -cold) while
	// the blob rehydrates, else "".
	ArchiveStatus     string
	RehydratePriority string // while rehydrating
}

// TierAt evaluates the blob's tier at now: a rehydration whose delay has
// passed has completed. Because it is evaluated from the replicated record,
// the secondary shows the same state at the same time.
func (b *Blob) TierAt(now time.Time) TierState {
	switch {
	case b.Tier == "":
		return TierState{Tier: TierHot, Inferred: true}
	case b.RehydrateTier != "" && !now.Before(b.RehydrateAt):
		return TierState{Tier: b.RehydrateTier, ChangeTime: b.RehydrateAt}
	case b.RehydrateTier != "":
		return TierState{Tier: TierArchive, ChangeTime: b.TierChangeTime,
			ArchiveStatus: "rehydrate-pending-to-" + strings.ToLower(b.RehydrateTier), RehydratePriority: b.RehydratePriority}
	}
	return TierState{Tier: b.Tier, ChangeTime: b.TierChangeTime}
}

// Archived reports whether the blob's data is offline at now: it is in
// the Archive tier, rehydrating or not.
func (b *Blob) Archived(now time.Time) bool { return b.TierAt(now).Tier == TierArchive }

func (b *Blob) archived(now time.Time) bool { return b.Archived(now) }

// newBlobAttributes gives a blob made by a creating write the tags and tier
// the request asked for; t is the commit time.
func (o WriteOptions) newBlobAttributes(b *Blob, t time.Time) {
	b.Tags = nil
	if len(o.Tags) > 0 {
		b.Tags = maps.Clone(o.Tags)
	}
	b.Tier, b.TierChangeTime = o.Tier, time.Time{}
	b.RehydrateTier, b.RehydratePriority, b.RehydrateAt = "", "", time.Time{}
	if o.Tier != "" {
		b.TierChangeTime = t
	}
}

// SetBlobTier changes a blob's access tier (Set Blob Tier). tier is one of
// the Tier constants and priority a Rehydrate constant or "" (Standard).
// Moving an archived blob to an online tier starts a rehydration that
// completes Options.RehydrateDelay later on the store's clock; pending is
// then true (Azure answers 202 instead of 200). While it is pending, only
// the same target tier may be asked for again (to raise the priority; an
// explicit Standard on a High rehydration is ErrRehydratePriorityLowered);
// anything else is ErrBlobBeingRehydrated. Like Set Blob Tags it changes
// neither ETag nor Last-Modified, and it is replicated.
func (s *Store) SetBlobTier(acct, cname, name, tier, priority string, o WriteOptions) (pending bool, err error) {
	switch tier {
	case TierHot, TierCool, TierCold, TierArchive:
	default:
		return false, ErrInvalidRehydrateTier
	}
	given := priority != ""
	if !given {
		priority = RehydrateStandard
	}
	_, err = s.updateInPlace(acct, cname, name, o, func(cur *Blob) (*Blob, error) {
		if cur.Type() != BlockBlob {
			// Tiers are a block blob feature (and a premium page blob one).
			return nil, ErrInvalidBlobType
		}
		now := s.now()
		st := cur.TierAt(now)
		b := cur.clone()
		if st.ArchiveStatus == "" && b.RehydrateTier != "" {
			// A completed rehydration: record its outcome.
			b.Tier, b.TierChangeTime = st.Tier, st.ChangeTime
			b.RehydrateTier, b.RehydratePriority, b.RehydrateAt = "", "", time.Time{}
		}
		switch {
		case st.ArchiveStatus != "":
			if tier != b.RehydrateTier {
				return nil, ErrBlobBeingRehydrated
			}
			if given && priority == RehydrateStandard && b.RehydratePriority == RehydrateHigh {
				// Azure lets a pending rehydration go from Standard to
				// High, never back.
				return nil, ErrRehydratePriorityLowered
			}
			if priority == RehydrateHigh {
				b.RehydratePriority = RehydrateHigh
			}
			pending = true
		case st.Tier == TierArchive && tier != TierArchive:
			b.RehydrateTier, b.RehydratePriority = tier, priority
			b.RehydrateAt = now.Add(max(s.rehydrateDelay, 0)).UTC()
			pending = true
		case st.Tier == tier && !st.Inferred:
			// Already there: nothing changes.
		default:
			b.Tier, b.TierChangeTime = tier, now.UTC()
		}
		return b, nil
	})
	return pending, err
}
