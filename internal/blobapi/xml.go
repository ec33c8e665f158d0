package blobapi

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/geoblob/geoblob/internal/azerr"
)

// xmlSink is where an xmlBuf writes: a bytes.Buffer for a body sent with
// its Content-Length, or a bufio.Writer on the response for a streamed one.
type xmlSink interface {
	io.Writer
	io.ByteWriter
	io.StringWriter
}

// xmlBuf builds an XML response body.
type xmlBuf struct {
	xmlSink
	buf *bytes.Buffer // when buffered
	bw  *bufio.Writer // when streamed
	ew  *errWriter    // when streamed
}

// errWriter remembers the first error of the response writer.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// failed reports whether a streamed body can no longer reach the client:
// a write failed (a dropped or timed-out connection), so the rest of the
// listing need not be formatted.
func (b *xmlBuf) failed() bool { return b.ew != nil && b.ew.err != nil }

func newXML() *xmlBuf {
	buf := &bytes.Buffer{}
	b := &xmlBuf{xmlSink: buf, buf: buf}
	b.WriteString(xml.Header[:len(xml.Header)-1])
	return b
}

// streamBufSize is the buffer between a streamed XML body and the
// connection: what a streamed listing holds besides its page of pointers.
const streamBufSize = 32 << 10

// streamXML answers with status and returns a writer for an XML body that
// goes out as it is written (chunked), so a large listing is never held in
// memory whole. Call done when finished. Write errors (a client gone away)
// are remembered by the bufio.Writer, which then discards the rest.
func (c *call) streamXML(status int) *xmlBuf {
	h := c.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Del("Content-Length")
	c.ok(status)
	ew := &errWriter{w: c.w}
	bw := bufio.NewWriterSize(ew, streamBufSize)
	b := &xmlBuf{xmlSink: bw, bw: bw, ew: ew}
	b.WriteString(xml.Header[:len(xml.Header)-1])
	return b
}

// done flushes a streamed body.
func (b *xmlBuf) done() {
	if b.bw != nil {
		_ = b.bw.Flush()
	}
}

func (b *xmlBuf) open(name string)  { b.WriteByte('<'); b.WriteString(name); b.WriteByte('>') }
func (b *xmlBuf) close(name string) { b.WriteString("</"); b.WriteString(name); b.WriteByte('>') }

// elem writes <name>text</name>, escaping text.
func (b *xmlBuf) elem(name, text string) {
	b.open(name)
	b.text(text)
	b.close(name)
}

// text writes s escaped as XML character data, the way xml.EscapeText
// does (a character XML cannot carry becomes U+FFFD), without copying s:
// a listing writes tens of thousands of values.
func (b *xmlBuf) text(s string) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		size := 1
		if c < utf8.RuneSelf {
			switch c {
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '&':
				esc = "&amp;"
			case '"':
				esc = "&#34;"
			case '\'':
				esc = "&#39;"
			case '\t':
				esc = "&#x9;"
			case '\n':
				esc = "&#xA;"
			case '\r':
				esc = "&#xD;"
			default:
				if c >= 0x20 {
					i++
					continue
				}
				esc = "\uFFFD"
			}
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || size != 1) && xmlChar(r) {
				i += size
				continue
			}
			esc = "\uFFFD"
		}
		b.WriteString(s[start:i])
		b.WriteString(esc)
		i += size
		start = i
	}
	b.WriteString(s[start:])
}

// name writes <Name> for a blob name or prefix, URL-encoded with
// Encoded="true" when XML cannot carry it, as Azure does.
func (b *xmlBuf) name(n string) {
	if xmlSafe(n) {
		b.elem("Name", n)
		return
	}
	b.WriteString(`<Name Encoded="true">`)
	b.text(url.QueryEscape(n))
	b.close("Name")
}

// xmlSafe reports whether s is valid UTF-8 made only of characters XML 1.0
// can carry.
func xmlSafe(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return false
			}
		}
		if !xmlChar(r) {
			return false
		}
	}
	return true
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// Listing markers are names, sent back as is when XML can carry them. A
// name it cannot, or one that starts with encodedMarkerPrefix, is sent as
// that prefix plus its unpadded base64url form, so every marker the
// emulator hands out reads back as the name it stands for.
const encodedMarkerPrefix = "~b64~"

func encodeMarker(name string) string {
	if xmlSafe(name) && !strings.HasPrefix(name, encodedMarkerPrefix) {
		return name
	}
	return encodedMarkerPrefix + base64.RawURLEncoding.EncodeToString([]byte(name))
}

func decodeMarker(m string) string {
	if rest, ok := strings.CutPrefix(m, encodedMarkerPrefix); ok {
		if b, err := base64.RawURLEncoding.DecodeString(rest); err == nil {
			return string(b)
		}
	}
	return m
}

// opt writes elem only when text is not empty.
func (b *xmlBuf) opt(name, text string) {
	if text != "" {
		b.elem(name, text)
	}
}

// metadata writes <Metadata> with one element per name, sorted.
func (b *xmlBuf) metadata(meta map[string]string) {
	b.open("Metadata")
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.elem(k, meta[k])
	}
	b.close("Metadata")
}

// sendXML writes b as an XML response with status; HEAD gets the headers only.
func (c *call) sendXML(status int, b *xmlBuf) {
	h := c.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.buf.Len()))
	c.ok(status)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(b.buf.Bytes())
	}
}

// maxXMLBody limits request bodies that carry XML documents.
const maxXMLBody = 8 << 20

var errXMLTooLarge = errors.New("XML body too large")

// readXMLBody reads a small XML request body. It answers the request and
// returns false on failure.
func (c *call) readXMLBody() ([]byte, bool) {
	if c.r.ContentLength > maxXMLBody {
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxXMLBody+1))
	if err == nil && len(body) > maxXMLBody {
		err = errXMLTooLarge
	}
	if err != nil {
		if errors.Is(err, errXMLTooLarge) {
			c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
		} else {
			c.fail(http.StatusBadRequest, "InvalidInput", "The request body could not be read: "+err.Error())
		}
		return nil, false
	}
	if c.r.ContentLength >= 0 && int64(len(body)) != c.r.ContentLength {
		c.contentLengthMismatch()
		return nil, false
	}
	return body, true
}

func (c *call) contentLengthMismatch() {
	c.fail(http.StatusBadRequest, "InvalidHeaderValue", "The value for Content-Length does not match the number of bytes received.",
		azerr.NewDetail("HeaderName", "Content-Length"))
}

func (c *call) invalidXML(err error) {
	msg := "XML specified is not syntactically valid."
	if err != nil {
		msg += " " + err.Error()
	}
	c.fail(http.StatusBadRequest, "InvalidXmlDocument", msg)
}

// wellFormed checks that doc is one well-formed XML element named root.
func wellFormed(doc []byte, root string) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth, seenRoot := 0, false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if !seenRoot {
				return errors.New("the document is empty")
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if seenRoot {
					return errors.New("more than one root element")
				}
				if t.Name.Local != root {
					return errors.New("the root element must be " + root)
				}
				seenRoot = true
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text outside the root element")
			}
		}
	}
}
