package blobapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Set Service Properties is parsed against the schema of the Blob service
// properties document, in one pass over the tokens with a depth of at most
// four, so its cost is linear in the body. Elements the schema does not
// know are refused, as are values Azure would refuse: the stored document is
// always one the emulator wrote itself.

// maxServicePropertiesBody caps a Set Service Properties body. A document
// that uses every element with Azure's largest CORS settings (2 KiB of them)
// is a few KiB.
const maxServicePropertiesBody = 64 << 10

// CORS limits of Azure Storage: at most five rules; at most 2 KiB of
// settings across them, not counting the XML tags; at most 64 origins and
// 64 literal plus two prefixed headers per list; 256 characters each.
const (
	maxCORSRules        = 5
	maxCORSSettings     = 2 << 10
	maxCORSListItems    = 64
	maxCORSPrefixedHdrs = 2
	maxCORSItemLen      = 256
)

var corsMethods = []string{"DELETE", "GET", "HEAD", "MERGE", "POST", "OPTIONS", "PUT", "PATCH"}

// errInvalidNodeValue marks a well-formed document with a value Azure
// refuses; it is answered with InvalidXmlNodeValue.
var errInvalidNodeValue = errors.New("invalid XML node value")

type spKind int

const (
	spText spKind = iota
	spBool
	spInt
	spGroup
)

// spSchema describes one element: a leaf of some kind or a group of
// children. repeat lets the element appear more than once in its parent.
type spSchema struct {
	kind   spKind
	repeat bool
	kids   map[string]*spSchema
}

func spGroupOf(kids map[string]*spSchema) *spSchema { return &spSchema{kind: spGroup, kids: kids} }

var (
	spRetention = spGroupOf(map[string]*spSchema{
		"Enabled": {kind: spBool}, "Days": {kind: spInt}, "AllowPermanentDelete": {kind: spBool},
	})
	spMetrics = spGroupOf(map[string]*spSchema{
		"Version": {kind: spText}, "Enabled": {kind: spBool}, "IncludeAPIs": {kind: spBool}, "RetentionPolicy": spRetention,
	})
	spRoot = spGroupOf(map[string]*spSchema{
		"Logging": spGroupOf(map[string]*spSchema{
			"Version": {kind: spText}, "Delete": {kind: spBool}, "Read": {kind: spBool}, "Write": {kind: spBool}, "RetentionPolicy": spRetention,
		}),
		"HourMetrics":   spMetrics,
		"MinuteMetrics": spMetrics,
		"Cors": spGroupOf(map[string]*spSchema{
			"CorsRule": {kind: spGroup, repeat: true, kids: map[string]*spSchema{
				"AllowedOrigins": {kind: spText}, "AllowedMethods": {kind: spText}, "MaxAgeInSeconds": {kind: spInt},
				"ExposedHeaders": {kind: spText}, "AllowedHeaders": {kind: spText},
			}},
		}),
		"DefaultServiceVersion": {kind: spText},
		"DeleteRetentionPolicy": spRetention,
		// An emulator extension (deletedcontainers.go).
		"ContainerDeleteRetentionPolicy": spGroupOf(map[string]*spSchema{"Enabled": {kind: spBool}, "Days": {kind: spInt}}),
		"StaticWebsite": spGroupOf(map[string]*spSchema{
			"Enabled": {kind: spBool}, "IndexDocument": {kind: spText}, "ErrorDocument404Path": {kind: spText}, "DefaultIndexDocumentPath": {kind: spText},
		}),
	})
)

// spNode is a parsed element: a leaf's text or a group's children in
// document order.
type spNode struct {
	name string
	text string
	kids []*spNode
}

func (n *spNode) child(name string) *spNode {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// parseServiceProperties parses a StorageServiceProperties document
// against the schema. Syntax errors and unknown elements are returned as
// plain errors; values Azure refuses wrap errInvalidNodeValue.
func parseServiceProperties(doc []byte) (*spNode, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		node   *spNode
		schema *spSchema
		text   strings.Builder
	}
	var stack []*frame
	var root *spNode
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" {
				return nil, fmt.Errorf("the element <%s:%s> is not part of the service properties schema", t.Name.Space, t.Name.Local)
			}
			name := t.Name.Local
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				if name != "StorageServiceProperties" {
					return nil, errors.New("the root element must be StorageServiceProperties")
				}
				root = &spNode{name: name}
				stack = append(stack, &frame{node: root, schema: spRoot})
				continue
			}
			parent := stack[len(stack)-1]
			sch := parent.schema.kids[name]
			if parent.schema.kind != spGroup || sch == nil {
				return nil, fmt.Errorf("the element <%s> is not allowed in <%s>", name, parent.node.name)
			}
			if !sch.repeat && parent.node.child(name) != nil {
				return nil, fmt.Errorf("the element <%s> appears more than once in <%s>", name, parent.node.name)
			}
			n := &spNode{name: name}
			parent.node.kids = append(parent.node.kids, n)
			stack = append(stack, &frame{node: n, schema: sch})
		case xml.EndElement:
			if len(stack) == 0 || t.Name.Space != "" || t.Name.Local != stack[len(stack)-1].node.name {
				return nil, fmt.Errorf("unexpected end element </%s>", t.Name.Local)
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.schema.kind != spGroup {
				f.node.text = strings.TrimSpace(f.text.String())
				if err := checkLeaf(f.node, f.schema.kind); err != nil {
					return nil, err
				}
			}
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1].schema.kind != spGroup {
				f := stack[len(stack)-1]
				if f.text.Len()+len(t) > maxServicePropertiesBody {
					return nil, errors.New("text too long")
				}
				f.text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("unexpected text between elements")
			}
		case xml.Directive:
			return nil, errors.New("directives are not allowed")
		case xml.ProcInst:
			if root != nil {
				return nil, errors.New("processing instructions are allowed only before the root element")
			}
		}
	}
	if root == nil {
		return nil, errors.New("the document is empty")
	}
	if len(stack) != 0 {
		return nil, errors.New("unexpected end of document")
	}
	if err := checkCORS(root.child("Cors")); err != nil {
		return nil, err
	}
	return root, nil
}

func checkLeaf(n *spNode, kind spKind) error {
	switch kind {
	case spBool:
		if n.text != "true" && n.text != "false" {
			return fmt.Errorf("%w: <%s> must be true or false", errInvalidNodeValue, n.name)
		}
	case spInt:
		v, err := strconv.Atoi(n.text)
		if err != nil || v < 0 {
			return fmt.Errorf("%w: <%s> must be a non-negative integer", errInvalidNodeValue, n.name)
		}
		if n.name == "Days" && (v < 1 || v > 365) {
			return fmt.Errorf("%w: <Days> must be between 1 and 365", errInvalidNodeValue)
		}
	}
	return nil
}

// minDefaultServiceVersion is the earliest DefaultServiceVersion Azure
// documents for the Blob service (older than the earliest x-ms-version a
// request may name: an anonymous request is served at the default).
const minDefaultServiceVersion = "2008-10-27"

// validDefaultVersion reports whether v may be stored as the service's
// DefaultServiceVersion: a version date (versionDate) from
// minDefaultServiceVersion on.
func validDefaultVersion(v string) bool { return versionDate(v, minDefaultServiceVersion) }

// errUnmodelledSetting is a service setting the emulator would store but
// not apply; it is refused with 501 instead of being acknowledged.
var errUnmodelledSetting = errors.New("service setting not modelled")

// checkModelled refuses turning on what the emulator stores but does not
// apply: soft delete (a delete would really delete what
// the caller expects to be able to restore) and static websites. Turning
// them off, and the settings that change no Blob answer (logging,
// metrics), are stored and echoed by Get Service Properties; CORS rules
// and the default service version are stored and applied (cors.go,
// server.go).
func checkModelled(u *spNode) error {
	if n := u.child("DeleteRetentionPolicy"); n != nil {
		if e := n.child("Enabled"); e != nil && e.text == "true" {
			// Blob soft delete is modelled (softdelete.go) and needs
			// its days, as in Azure; permanent delete is not.
			if n.child("Days") == nil {
				return fmt.Errorf("%w: <DeleteRetentionPolicy> needs <Days> when enabled", errInvalidNodeValue)
			}
			if p := n.child("AllowPermanentDelete"); p != nil && p.text == "true" {
				return fmt.Errorf("%w: DeleteRetentionPolicy AllowPermanentDelete", errUnmodelledSetting)
			}
		}
	}
	for _, name := range []string{"StaticWebsite"} {
		if n := u.child(name); n != nil {
			if e := n.child("Enabled"); e != nil && e.text == "true" {
				return fmt.Errorf("%w: %s", errUnmodelledSetting, name)
			}
		}
	}
	return nil
}

// checkCORS applies Azure's CORS rule limits.
func checkCORS(cors *spNode) error {
	if cors == nil {
		return nil
	}
	if len(cors.kids) > maxCORSRules {
		return fmt.Errorf("%w: at most %d CORS rules are allowed", errInvalidNodeValue, maxCORSRules)
	}
	settings := 0
	for _, rule := range cors.kids {
		for _, req := range []string{"AllowedOrigins", "AllowedMethods", "MaxAgeInSeconds"} {
			if rule.child(req) == nil {
				return fmt.Errorf("%w: a CORS rule needs <%s>", errInvalidNodeValue, req)
			}
		}
		for _, k := range rule.kids {
			settings += len(k.text)
			items := splitList(k.text)
			switch k.name {
			case "AllowedMethods":
				if len(items) == 0 {
					return fmt.Errorf("%w: <AllowedMethods> must name at least one method", errInvalidNodeValue)
				}
				for _, m := range items {
					if !slices.Contains(corsMethods, m) {
						return fmt.Errorf("%w: %q is not an allowed CORS method (%s)", errInvalidNodeValue, m, strings.Join(corsMethods, ", "))
					}
				}
			case "AllowedOrigins", "AllowedHeaders", "ExposedHeaders":
				if k.name == "AllowedOrigins" && len(items) == 0 {
					return fmt.Errorf("%w: <AllowedOrigins> must name at least one origin or *", errInvalidNodeValue)
				}
				literal, prefixed := 0, 0
				for _, it := range items {
					if len(it) > maxCORSItemLen {
						return fmt.Errorf("%w: an entry of <%s> is longer than %d characters", errInvalidNodeValue, k.name, maxCORSItemLen)
					}
					if k.name != "AllowedOrigins" && strings.HasSuffix(it, "*") && it != "*" {
						prefixed++
					} else {
						literal++
					}
				}
				if literal > maxCORSListItems || prefixed > maxCORSPrefixedHdrs {
					return fmt.Errorf("%w: <%s> allows at most %d entries and %d prefixed headers", errInvalidNodeValue, k.name, maxCORSListItems, maxCORSPrefixedHdrs)
				}
			}
		}
	}
	if settings > maxCORSSettings {
		return fmt.Errorf("%w: the CORS rules hold more than %d bytes of settings", errInvalidNodeValue, maxCORSSettings)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// writeSP writes n and its subtree.
func writeSP(b *bytes.Buffer, n *spNode) {
	b.WriteByte('<')
	b.WriteString(n.name)
	b.WriteByte('>')
	if len(n.kids) == 0 {
		_ = xml.EscapeText(b, []byte(n.text))
	}
	for _, k := range n.kids {
		writeSP(b, k)
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}

// mergeServiceProperties parses a Set Service Properties body and returns
// the stored document cur with every top-level element that upd names
// replaced (or added), as Azure keeps the settings a request leaves out. An
// invalid upd is an error.
func mergeServiceProperties(cur, upd []byte) ([]byte, error) {
	if len(upd) > maxServicePropertiesBody {
		return nil, errXMLTooLarge
	}
	u, err := parseServiceProperties(upd)
	if err != nil {
		return nil, err
	}
	if err := checkModelled(u); err != nil {
		return nil, err
	}
	// Checked on the request only, not in parseServiceProperties: a data
	// directory written before this check may hold any text here, and its
	// document must still parse (else its soft delete, CORS and every
	// other setting would read as off, and the next Set would drop them).
	if n := u.child("DefaultServiceVersion"); n != nil && n.text != "" && !validDefaultVersion(n.text) {
		return nil, fmt.Errorf("%w: <DefaultServiceVersion> must be a service version (YYYY-MM-DD, %s or later)", errInvalidNodeValue, minDefaultServiceVersion)
	}
	if err := checkContainerRetention(u); err != nil {
		return nil, err
	}
	merged, err := parseServiceProperties(cur)
	if err != nil {
		merged = &spNode{name: "StorageServiceProperties"}
	}
	for _, it := range u.kids {
		if i := slices.IndexFunc(merged.kids, func(k *spNode) bool { return k.name == it.name }); i >= 0 {
			merged.kids[i] = it
		} else {
			merged.kids = append(merged.kids, it)
		}
	}
	var b bytes.Buffer
	b.WriteString(xml.Header[:len(xml.Header)-1])
	writeSP(&b, merged)
	return b.Bytes(), nil
}
