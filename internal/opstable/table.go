package opstable

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The statuses a row may have.
const (
	Supported   = "supported"
	Refused501  = "501"
	Refused400  = "400"
	Refused405  = "405"
	NotApplies  = "n/a"
	beginMarker = "<!-- operations: begin -->"
	endMarker   = "<!-- operations: end -->"
)

// ErrMalformed is wrapped by Parse's error when the table cannot be read.
var ErrMalformed = errors.New("opstable: malformed operations table")

// Header is one request header of a row's example request.
type Header struct{ Name, Value string }

// Row is one operation of the table.
type Row struct {
	Operation string
	Method    string
	// Path is "/", "/c" or "/c/b": the account, a container or a blob.
	Path      string
	Query     string // without "?"
	Headers   []Header
	Secondary bool // the request goes to the secondary location
	Status    string
	Test      string // the test function that exercises a supported row
	Package   string // its directory, relative to the module root
	Calls     string // text the test function must contain
}

// Parse reads the operations table between the begin and end markers of
// a README.
func Parse(readme []byte) ([]Row, error) {
	start := bytes.Index(readme, []byte(beginMarker))
	end := bytes.Index(readme, []byte(endMarker))
	if start < 0 || end < start {
		return nil, fmt.Errorf("%w: no %q ... %q section", ErrMalformed, beginMarker, endMarker)
	}
	var rows []Row
	sc := bufio.NewScanner(bytes.NewReader(readme[start+len(beginMarker) : end]))
	header := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if header < 2 { // the column names and the |---| line
			header++
			continue
		}
		r, err := parseRow(line)
		if err != nil {
			return nil, fmt.Errorf("%w: table line %d: %w", ErrMalformed, n, err)
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: the table has no rows", ErrMalformed)
	}
	return rows, nil
}

func parseRow(line string) (Row, error) {
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return Row{}, fmt.Errorf("not a table row: %q", line)
	}
	cells := strings.Split(strings.Trim(line, "|"), "|")
	if len(cells) != 5 {
		return Row{}, fmt.Errorf("%d cells, want 5: %q", len(cells), line)
	}
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	r := Row{Operation: cells[0], Status: cells[2], Calls: unquote(cells[4])}
	if r.Operation == "" {
		return Row{}, fmt.Errorf("no operation name: %q", line)
	}
	switch r.Status {
	case Supported, Refused501, Refused400, Refused405, NotApplies:
	default:
		return Row{}, fmt.Errorf("%s: status %q, want %s, %s, %s, %s or %s", r.Operation, r.Status, Supported, Refused501, Refused400, Refused405, NotApplies)
	}
	if err := parseRequest(&r, cells[1]); err != nil {
		return Row{}, fmt.Errorf("%s: %w", r.Operation, err)
	}
	if t := cells[3]; t != "" {
		// `TestName` (`dir`)
		name, pkg, ok := strings.Cut(t, " ")
		r.Test, r.Package = unquote(name), unquote(strings.Trim(strings.TrimSpace(pkg), "()"))
		if !ok || !strings.HasPrefix(r.Test, "Test") || r.Package == "" {
			return Row{}, fmt.Errorf("%s: test cell %q, want `TestName` (`dir`)", r.Operation, t)
		}
	}
	return r, nil
}

// parseRequest reads "`METHOD /path?query` + `Header: value` ... [on the
// secondary]".
func parseRequest(r *Row, cell string) error {
	if rest, ok := strings.CutSuffix(cell, " on the secondary"); ok {
		r.Secondary, cell = true, rest
	}
	parts := strings.Split(cell, " + ")
	line := unquote(parts[0])
	method, target, ok := strings.Cut(line, " ")
	if !ok || !validMethod(method) {
		return fmt.Errorf("request %q, want `METHOD /path?query`", cell)
	}
	r.Method = method
	r.Path, r.Query, _ = strings.Cut(target, "?")
	switch r.Path {
	case "/", "/c", "/c/b":
	default:
		return fmt.Errorf("path %q, want /, /c or /c/b", r.Path)
	}
	for _, h := range parts[1:] {
		name, value, ok := strings.Cut(unquote(h), ": ")
		if !ok || name == "" {
			return fmt.Errorf("header %q, want `Name: value`", h)
		}
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
	}
	return nil
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func unquote(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
