package emulator

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/geoblob/geoblob/internal/blobapi"
	"github.com/geoblob/geoblob/internal/store"
)

// Location is one copy of an account.
type Location int

// Locations. For blob access, SecondaryPathStyle is the same copy as
// Secondary; the two differ only in ServiceURL.
const (
	// Primary is the read/write copy.
	Primary Location = iota
	// Secondary is the read-only, asynchronously replicated copy; its
	// ServiceURL is on the distinct secondary listener when there is one.
	Secondary
	// SecondaryPathStyle is the secondary at /ACCOUNT-secondary on the
	// primary listener.
	SecondaryPathStyle
)

// String returns "primary", "secondary" or "secondary (path-style)".
func (l Location) String() string {
	switch l {
	case Primary:
		return "primary"
	case Secondary:
		return "secondary"
	case SecondaryPathStyle:
		return "secondary (path-style)"
	}
	return fmt.Sprintf("Location(%d)", int(l))
}

// Object is a blob as the seed and inspect helpers see it, without an SDK.
type Object struct {
	// Account, Container and Name address the blob. An empty Account is the
	// first configured account.
	Account, Container, Name string
	// Data is the blob's content.
	Data []byte
	// ContentType is the blob's Content-Type; application/octet-stream
	// when empty.
	ContentType string
	// Metadata is the blob's metadata (names in lower case).
	Metadata map[string]string
	// ETag and LastModified are set by the emulator; CreateObject ignores
	// them.
	ETag         string
	LastModified time.Time
}

// ErrInvalidObject is wrapped by CreateObject when a request could not
// create the object as given: a container or blob name Azure refuses, or
// metadata whose names are not C# identifiers, whose values are not
// printable ASCII, or that exceeds 8 KiB.
var ErrInvalidObject = errors.New("emulator: invalid object")

// ErrObjectNotFound is wrapped by GetObject and ListObjects when the blob or
// its container does not exist at that location.
var ErrObjectNotFound = errors.New("emulator: object not found")

// CreateObject writes o on the primary, creating its container (private) if
// needed, exactly as a Put Blob would: the write replicates to the secondary
// after the configured lag. It returns the stored object, with its ETag and
// LastModified.
func (e *Emulator) CreateObject(o Object) (Object, error) {
	acct, err := e.account(o.Account)
	if err != nil {
		return Object{}, err
	}
	// The checks a Put Blob request gets, so that every seeded blob can be
	// read back over HTTP as it was given.
	name, err := blobapi.CheckNames(o.Container, o.Name)
	if err != nil {
		return Object{}, fmt.Errorf("%w %q/%q: %w", ErrInvalidObject, o.Container, o.Name, err)
	}
	meta, err := blobapi.CheckMetadata(o.Metadata)
	if err != nil {
		return Object{}, fmt.Errorf("%w %q/%q: %w", ErrInvalidObject, o.Container, o.Name, err)
	}
	if _, err := e.primary.Container(acct, o.Container); err != nil {
		if _, err := e.primary.CreateContainer(acct, o.Container, nil, ""); err != nil && !hasCode(err, store.ErrContainerAlreadyExists.Code) {
			return Object{}, fmt.Errorf("emulator: create container %q: %w", o.Container, err)
		}
	}
	data := bytes.Clone(o.Data)
	sum := md5.Sum(data)
	content, err := e.primary.NewContent(data)
	if err != nil {
		return Object{}, fmt.Errorf("emulator: create object %s/%s: %w", o.Container, o.Name, err)
	}
	b, err := e.primary.PutBlob(acct, o.Container, name, content,
		store.HTTPHeaders{ContentType: o.ContentType, ContentMD5: sum[:]}, meta, store.WriteOptions{})
	if err != nil {
		return Object{}, fmt.Errorf("emulator: create object %s/%s: %w", o.Container, o.Name, err)
	}
	return objectOf(acct, o.Container, b)
}

// GetObject reads a blob from the given copy of its account without going
// through HTTP: compare what the primary holds with what has replicated to
// the secondary. account "" is the first configured account.
func (e *Emulator) GetObject(loc Location, account, container, name string) (Object, error) {
	acct, err := e.account(account)
	if err != nil {
		return Object{}, err
	}
	// `\` reads as `/`, as in a request path and in CreateObject.
	name = strings.ReplaceAll(name, `\`, "/")
	b, err := e.store(loc).Blob(acct, container, name, store.ReadOptions{})
	if err != nil {
		if isNotFound(err) {
			return Object{}, fmt.Errorf("%w: %s %s/%s/%s", ErrObjectNotFound, loc, acct, container, name)
		}
		return Object{}, fmt.Errorf("emulator: get object: %w", err)
	}
	return objectOf(acct, container, b)
}

// ListObjects lists the blobs of a container on the given copy whose names
// start with prefix, in name order, with their data. It is meant for tests
// and small seeds: it reads at most limit blobs (all when limit <= 0).
func (e *Emulator) ListObjects(loc Location, account, container, prefix string, limit int) ([]Object, error) {
	acct, err := e.account(account)
	if err != nil {
		return nil, err
	}
	st := e.store(loc)
	var out []Object
	marker := ""
	for {
		page, err := st.ListBlobs(acct, container, store.ListOptions{Prefix: prefix, Marker: marker})
		if err != nil {
			if isNotFound(err) {
				return nil, fmt.Errorf("%w: %s container %s/%s", ErrObjectNotFound, loc, acct, container)
			}
			return nil, fmt.Errorf("emulator: list objects: %w", err)
		}
		for _, b := range page.Blobs {
			o, err := objectOf(acct, container, b)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if page.NextMarker == "" {
			return out, nil
		}
		marker = page.NextMarker
	}
}

func (e *Emulator) account(name string) (string, error) {
	if name == "" {
		return e.AccountName(), nil
	}
	if _, ok := e.keys[name]; !ok {
		return "", fmt.Errorf("emulator: no account %q", name)
	}
	return name, nil
}

func (e *Emulator) store(loc Location) *store.Store {
	if loc == Primary {
		return e.primary
	}
	return e.secondary
}

func isNotFound(err error) bool {
	return hasCode(err, store.ErrBlobNotFound.Code) || hasCode(err, store.ErrContainerNotFound.Code)
}

// hasCode reports whether err is a store error with the given Azure code.
func hasCode(err error, code string) bool {
	var se *store.Error
	return errors.As(err, &se) && se.Code == code
}

func objectOf(acct, container string, b *store.Blob) (Object, error) {
	var buf bytes.Buffer
	buf.Grow(int(b.Size()))
	if _, err := b.Content.WriteTo(&buf); err != nil {
		return Object{}, fmt.Errorf("emulator: read %s: %w", b.Name, err)
	}
	ct := b.Headers.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	return Object{
		Account: acct, Container: container, Name: b.Name, Data: buf.Bytes(), ContentType: ct,
		Metadata: maps.Clone(b.Metadata), ETag: b.ETag, LastModified: b.LastModified,
	}, nil
}
