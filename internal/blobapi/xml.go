package blobapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"

	"github.com/geoblob/geoblob/internal/azerr"
)

// xmlBuf builds an XML response body.
type xmlBuf struct{ bytes.Buffer }

func newXML() *xmlBuf {
	b := &xmlBuf{}
	b.WriteString(xml.Header[:len(xml.Header)-1])
	return b
}

func (b *xmlBuf) open(name string)  { b.WriteByte('<'); b.WriteString(name); b.WriteByte('>') }
func (b *xmlBuf) close(name string) { b.WriteString("</"); b.WriteString(name); b.WriteByte('>') }

// elem writes <name>text</name>, escaping text.
func (b *xmlBuf) elem(name, text string) {
	b.open(name)
	_ = xml.EscapeText(b, []byte(text))
	b.close(name)
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
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	c.ok(status)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(b.Bytes())
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
