package blobapi

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

// settingsCache keeps what requests need from each account's current
// service properties document (its CORS rules and blob soft delete
// retention), parsed once per document rather than on every request.
// Lookups take no lock. It holds one entry per store and account, and
// starts over past maxSettingsCacheEntries, so it stays bounded whatever
// the stores and accounts it sees.
type settingsCache struct {
	m sync.Map // settingsKey -> *settings
	n atomic.Int64
}

type settingsKey struct {
	st      *store.Store
	account string
}

// settings are the parsed parts of one service properties document.
type settings struct {
	doc       *byte // identity of the document they were parsed from
	n         int
	cors      []corsRule
	retention time.Duration // blob soft delete; zero when off
	version   string        // DefaultServiceVersion; empty when unset
}

const maxSettingsCacheEntries = 4096

var noSettings = &settings{}

// get returns the settings of account in st.
func (sc *settingsCache) get(st *store.Store, account string) *settings {
	doc := st.ServiceProperties(account)
	if len(doc) == 0 {
		return noSettings
	}
	// Stored documents are never changed in place: an update stores a new
	// slice, so its first byte's address and its length identify it.
	k := settingsKey{st, account}
	if v, ok := sc.m.Load(k); ok {
		if e := v.(*settings); e.doc == &doc[0] && e.n == len(doc) {
			return e
		}
	}
	e := &settings{doc: &doc[0], n: len(doc), cors: corsRules(doc), retention: parseDeleteRetention(doc), version: defaultVersion(doc)}
	if _, loaded := sc.m.Swap(k, e); !loaded && sc.n.Add(1) > maxSettingsCacheEntries {
		sc.m.Clear()
		sc.n.Store(0)
	}
	return e
}

// defaultVersion is the document's DefaultServiceVersion, or "" when it
// has none or one that is no service version (a data directory written
// before Set Service Properties checked it).
func defaultVersion(doc []byte) string {
	root, err := parseServiceProperties(doc)
	if err != nil {
		return ""
	}
	n := root.child("DefaultServiceVersion")
	if n == nil || !validDefaultVersion(n.text) {
		return ""
	}
	return n.text
}
