package store

import (
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/geoblob/geoblob/internal/slab"
)

// ChunkSize is the size of the pieces a body is read into. Blocks keep the
// boundaries the client chose; bodies read by ReadContent are cut at ChunkSize.
const ChunkSize = 4 << 20

// Content is an immutable sequence of byte chunks. Chunks are never modified
// once a Content holds them, so Contents may share chunks freely: committing
// a block list or copying a blob reuses the staged bytes without copying.
//
// A chunk is either bytes in memory or an extent of a content file of a data
// directory (see Files); every method works on both kinds.
type Content struct {
	chunks []chunk
	size   int64
}

// chunk is one piece of a Content: b in memory, or n bytes at off of the
// content file f. When b is part of a slab buffer, buf is that buffer: the
// slot is reused once buf is unreachable, so every chunk that holds a slice
// of it holds buf too (see internal/slab).
type chunk struct {
	b   []byte
	buf *slab.Buf
	f   *fileRef
	off int64
	n   int64
}

// Bytes returns a Content holding b. The caller must not modify b afterwards.
func Bytes(b []byte) Content {
	if len(b) == 0 {
		return Content{}
	}
	return Content{chunks: []chunk{{b: b, n: int64(len(b))}}, size: int64(len(b))}
}

// Concat joins contents without copying their bytes.
func Concat(parts ...Content) Content {
	var c Content
	for _, p := range parts {
		c.chunks = append(c.chunks, p.chunks...)
		c.size += p.size
	}
	return c
}

// Size is the number of bytes in c.
func (c Content) Size() int64 { return c.size }

// ErrTooLarge is returned by ReadContent when the body exceeds its limit.
var ErrTooLarge = errors.New("store: body larger than allowed")

// ReadContent reads r to EOF into a new Content, at most limit bytes (a
// negative limit means no limit). It reads straight into the chunks it keeps,
// so a body is held in memory exactly once.
//
// While at least slab.Size bytes of a declared length (sizeHint) are still
// to come, it reads into slab buffers: memory outside Go's heap that is
// cheap to write for the first time and reused between uploads (see
// internal/slab). A client that declares a large body and stalls holds one
// such buffer. Otherwise chunks start at 64 KiB and double with what has
// arrived, up to ChunkSize, so memory follows the bytes received rather than
// the length a client declares; sizeHint trims the last chunk to the
// declared length, with a small probe for EOF. Only io.EOF ends the body
// cleanly: any other error, io.ErrUnexpectedEOF from a broken connection
// included, is returned.
func ReadContent(r io.Reader, sizeHint, limit int64) (Content, error) {
	var c Content
	for {
		var (
			buf []byte
			sb  *slab.Buf
		)
		if sizeHint > 0 && sizeHint-c.size >= slab.Size {
			sb = slab.Default().Get()
			buf = sb.Bytes()
		} else {
			n := int64(ChunkSize)
			if sizeHint > 0 {
				switch left := sizeHint - c.size; {
				case left <= 0:
					n = 512 // expect EOF; read a little in case the hint was wrong
				case left < n:
					n = left
				}
			}
			// Chunks start small and double with what has arrived (64 KiB,
			// 64 KiB, 128 KiB, ... up to ChunkSize), so that a client that
			// declares a large body and sends little holds little: at most
			// about twice what it sent. Nothing is copied to grow.
			n = min(n, max(firstChunk, c.size))
			buf = make([]byte, n)
		}
		got, err := fill(r, buf)
		if got > 0 {
			c.chunks = append(c.chunks, chunk{b: buf[:got:got], buf: sb, n: int64(got)})
			c.size += int64(got)
			if limit >= 0 && c.size > limit {
				return Content{}, ErrTooLarge
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return c, nil
		default:
			return Content{}, fmt.Errorf("store: reading body: %w", err)
		}
	}
}

// firstChunk is the size of a body's first chunk; later ones double.
const firstChunk = 64 << 10

// fill reads into buf until it is full or r fails. It returns io.EOF only
// when r itself reported io.EOF.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// WriteTo writes the whole content to w.
func (c Content) WriteTo(w io.Writer) (int64, error) { return c.WriteRange(w, 0, c.size) }

// WriteRange writes n bytes starting at off to w. For content on disk it
// fails with ErrCorruptContent, before writing the damaged piece, when a
// content file is missing, has the wrong length or the wrong checksum: a
// range of part of a file is written only once the whole file has been
// verified (once per file, remembered; see Files).
func (c Content) WriteRange(w io.Writer, off, n int64) (int64, error) {
	var written int64
	for _, ch := range c.chunks {
		if n <= 0 {
			break
		}
		l := ch.n
		if off >= l {
			off -= l
			continue
		}
		take := min(l-off, n)
		var (
			m   int64
			err error
		)
		if ch.f == nil {
			var k int
			k, err = w.Write(ch.b[off : off+take])
			m = int64(k)
		} else {
			m, err = ch.f.writeRange(w, ch.off+off, take)
		}
		off = 0
		written += m
		n -= m
		if err != nil {
			return written, err
		}
	}
	runtime.KeepAlive(c.chunks) // their slab buffers, until the last write returned
	return written, nil
}

// Check reports ErrCorruptContent when a content file c needs is missing or
// has the wrong length. It is cheap (one stat per file) and lets a reader
// answer with an error before it starts a response.
func (c Content) Check() error {
	var last *fileRef
	for _, ch := range c.chunks {
		if ch.f == nil || ch.f == last {
			continue
		}
		last = ch.f
		if err := ch.f.check(); err != nil {
			return err
		}
	}
	return nil
}

// CheckRange is Check for the n bytes of c at off, and more: a content file
// the range covers only part of is verified against its checksum (once per
// file; see Files), as WriteRange would before writing any of it. It lets
// a ranged read answer with an error before it starts a response.
func (c Content) CheckRange(off, n int64) error {
	for _, ch := range c.chunks {
		if n <= 0 {
			break
		}
		l := ch.n
		if off >= l {
			off -= l
			continue
		}
		take := min(l-off, n)
		if ch.f != nil {
			if err := ch.f.check(); err != nil {
				return err
			}
			if ch.off+off != 0 || take != ch.f.size {
				if err := ch.f.verify(); err != nil {
					return err
				}
			}
		}
		off = 0
		n -= take
	}
	return nil
}

// Reader returns an io.Reader over n bytes of c starting at off.
func (c Content) Reader(off, n int64) io.Reader {
	pr := &contentReader{c: c, off: off, left: n}
	return pr
}

type contentReader struct {
	c         Content
	off, left int64
}

func (r *contentReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	off := r.off
	for _, ch := range r.c.chunks {
		l := ch.n
		if off >= l {
			off -= l
			continue
		}
		var n int
		if ch.f == nil {
			n = copy(p, ch.b[off:])
		} else {
			want := min(int64(len(p)), l-off)
			var err error
			if n, err = ch.f.readAt(p[:want], ch.off+off); err != nil {
				return 0, err
			}
		}
		runtime.KeepAlive(ch.buf)
		r.off += int64(n)
		r.left -= int64(n)
		return n, nil
	}
	return 0, io.EOF
}

// Slice returns n bytes of c starting at off, sharing c's chunks. It panics
// if the range is outside c, like slicing a []byte.
func (c Content) Slice(off, n int64) Content {
	if off < 0 || n < 0 || off+n > c.size {
		panic(fmt.Sprintf("store: Content.Slice(%d, %d) of %d bytes", off, n, c.size))
	}
	var out Content
	for _, ch := range c.chunks {
		if n <= 0 {
			break
		}
		l := ch.n
		if off >= l {
			off -= l
			continue
		}
		take := min(l-off, n)
		part := chunk{f: ch.f, buf: ch.buf, off: ch.off + off, n: take}
		if ch.f == nil {
			part.b = ch.b[off : off+take : off+take]
			part.off = 0
		}
		off = 0
		out.chunks = append(out.chunks, part)
		out.size += take
		n -= take
	}
	return out
}
