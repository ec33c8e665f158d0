package blobapi

import (
	"bytes"
	"encoding/xml"
	"net/url"
	"testing"
)

// FuzzListingNames: every name survives the listing's encoding. A marker
// goes out XML-safe and comes back as the same name; a <Name> element
// decodes (as the SDKs do, URL-unescaping Encoded names) to the name.
func FuzzListingNames(f *testing.F) {
	for _, s := range []string{"plain", "a\uffffb", "\ufffe", "~b64~", "~b64~fw", "~b64~77-_", "dir/\uffff/x", "+ %41&<>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		m := encodeMarker(name)
		if !xmlSafe(m) {
			t.Fatalf("marker %q for %q is not XML-safe", m, name)
		}
		if got := decodeMarker(m); got != name {
			t.Fatalf("marker %q decodes to %q, want %q", m, got, name)
		}
		b := newXML()
		b.name(name)
		var got struct {
			Encoded bool   `xml:"Encoded,attr"`
			Text    string `xml:",chardata"`
		}
		doc := b.buf.Bytes()[len(xml.Header)-1:]
		if err := xml.NewDecoder(bytes.NewReader(doc)).Decode(&got); err != nil {
			t.Fatalf("<Name> for %q does not parse: %v: %q", name, err, doc)
		}
		if got.Encoded {
			dec, err := url.QueryUnescape(got.Text)
			if err != nil {
				t.Fatalf("encoded %q: %v", got.Text, err)
			}
			got.Text = dec
		}
		if got.Text != name {
			t.Fatalf("<Name> for %q reads back as %q (encoded %v)", name, got.Text, got.Encoded)
		}
		if !xmlSafe(name) && !got.Encoded {
			t.Fatalf("<Name> for %q is not marked encoded", name)
		}
	})
}

// FuzzXMLText: xmlBuf.text writes what xml.EscapeText writes.
func FuzzXMLText(f *testing.F) {
	for _, s := range []string{"plain", "<a & 'b' \"c\">", "\t\n\r\x00\x1f", "\uffff\ufffe\ufffd", "\xff\xfe", "é中😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		_ = xml.EscapeText(&want, []byte(s))
		b := newXML()
		start := b.buf.Len()
		b.text(s)
		if got := b.buf.String()[start:]; got != want.String() {
			t.Fatalf("text(%q) = %q, xml.EscapeText gives %q", s, got, want.String())
		}
	})
}
