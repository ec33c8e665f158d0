package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// extent is the encoded form of one chunk of a Content: an extent of a
// content file, or (for content that never went through Files) its bytes.
type extent struct {
	File   string `json:"gbfile,omitempty"`
	FSize  int64  `json:"fsize,omitempty"`
	CRC    uint32 `json:"crc,omitempty"`
	Off    int64  `json:"off,omitempty"`
	N      int64  `json:"n"`
	Inline []byte `json:"inline,omitempty"`
}

// ExtentFileKey is the JSON key that names a content file in an encoded
// Content, for code that scans encoded records for the files they use.
const ExtentFileKey = "gbfile"

// MarshalJSON encodes c as its list of extents, never its bytes when they
// are on disk.
func (c Content) MarshalJSON() ([]byte, error) {
	ext := make([]extent, 0, len(c.chunks))
	for _, ch := range c.chunks {
		if ch.f == nil {
			ext = append(ext, extent{N: ch.n, Inline: ch.b})
			continue
		}
		ext = append(ext, extent{File: ch.f.id, FSize: ch.f.size, CRC: ch.f.crc, Off: ch.off, N: ch.n})
	}
	return json.Marshal(ext)
}

var (
	decodeMu    sync.Mutex
	decodeFiles atomic.Pointer[Files] // set only while decodeMu is held
)

// errNoFiles is returned when an encoded Content names a content file but
// is decoded without Files.Decode.
var errNoFiles = errors.New("store: content on disk decoded without its Files")

// UnmarshalJSON decodes what MarshalJSON wrote. Extents of content files
// need the Files they live in: decode through Files.Decode.
func (c *Content) UnmarshalJSON(data []byte) error {
	var ext []extent
	if err := json.Unmarshal(data, &ext); err != nil {
		return err
	}
	var out Content
	var last *fileRef
	for _, e := range ext {
		if e.N < 0 || e.Off < 0 {
			return fmt.Errorf("store: invalid extent %+v", e)
		}
		if e.File == "" {
			if int64(len(e.Inline)) != e.N {
				return fmt.Errorf("store: inline extent of %d bytes claims %d", len(e.Inline), e.N)
			}
			if e.N > 0 {
				out.chunks = append(out.chunks, chunk{b: e.Inline, n: e.N})
			}
			out.size += e.N
			continue
		}
		files := decodeFiles.Load()
		if files == nil {
			return errNoFiles
		}
		if !IsFileID(e.File) || e.Off+e.N > e.FSize {
			return fmt.Errorf("store: invalid extent of content file %q", e.File)
		}
		// Extents of one file next to each other share one reference.
		if last == nil || last.id != e.File {
			last = files.ref(e.File, e.FSize, e.CRC)
		}
		out.chunks = append(out.chunks, chunk{f: last, off: e.Off, n: e.N})
		out.size += e.N
	}
	*c = out
	return nil
}

// Decode unmarshals JSON written by encoding/json from values holding
// Contents, resolving content files against f. Decodes are serialized.
func (f *Files) Decode(data []byte, v any) error {
	decodeMu.Lock()
	defer decodeMu.Unlock()
	decodeFiles.Store(f)
	defer decodeFiles.Store(nil)
	return json.Unmarshal(data, v)
}
