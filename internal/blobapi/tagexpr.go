package blobapi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/geoblob/geoblob/internal/store"
)

// Blob index tag expressions, in the two dialects Azure accepts:
//
//   - Find Blobs by Tags (the where parameter): comparisons joined by AND,
//     with =, >, >=, <, <=, and @container = 'name' to scope the search.
//     At most MaxTagFilters comparisons of tags, and two comparisons of
//     the same tag may not bound it from the same side.
//   - x-ms-if-tags conditions: comparisons joined by AND and OR (AND binds
//     tighter), grouped with parentheses, with =, <>, >, >=, <, <=; no
//     @container.
//
// A tag key is written in double quotes ("Project") or bare when it is made
// of letters, digits and underscores; a value is written in single quotes.
// Keys and values obey the tag limits (store.CheckTags). Comparisons are
// lexicographic on the bytes of the values; a comparison on a tag the blob
// does not have is false.

// MaxTagFilters is the most tag comparisons a Find Blobs by Tags
// expression may hold.
const MaxTagFilters = 10

// maxTagExprDepth bounds the nesting of parentheses in a condition.
const maxTagExprDepth = 16

type tagDialect int

const (
	dialectFind tagDialect = iota
	dialectCondition
)

type tagNode interface {
	eval(tags map[string]string) bool
}

type tagCmp struct{ key, op, value string }

func (n tagCmp) eval(tags map[string]string) bool {
	v, ok := tags[n.key]
	if !ok {
		return false
	}
	switch n.op {
	case "=":
		return v == n.value
	case "<>":
		return v != n.value
	case ">":
		return v > n.value
	case ">=":
		return v >= n.value
	case "<":
		return v < n.value
	case "<=":
		return v <= n.value
	}
	return false
}

type tagAnd struct{ l, r tagNode }

func (n tagAnd) eval(tags map[string]string) bool { return n.l.eval(tags) && n.r.eval(tags) }

type tagOr struct{ l, r tagNode }

func (n tagOr) eval(tags map[string]string) bool { return n.l.eval(tags) || n.r.eval(tags) }

// tagExpr is a parsed expression.
type tagExpr struct {
	root      tagNode
	container string   // @container = '...' (Find Blobs by Tags only)
	keys      []string // the tag keys it names, in order of first use
}

// condition returns the expression as a store.TagCondition.
func (e *tagExpr) condition() store.TagCondition {
	return func(tags map[string]string) bool { return e.root.eval(tags) }
}

type tagTokKind int

const (
	tokEOF   tagTokKind = iota
	tokKey              // "quoted" or bare
	tokValue            // 'quoted'
	tokOp
	tokLParen
	tokRParen
	tokAnd
	tokOr
	tokContainer // @container
)

type tagTok struct {
	kind tagTokKind
	text string
}

func lexTagExpr(s string) ([]tagTok, error) {
	var toks []tagTok
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			i++
		case ch == '(':
			toks = append(toks, tagTok{kind: tokLParen})
			i++
		case ch == ')':
			toks = append(toks, tagTok{kind: tokRParen})
			i++
		case ch == '"' || ch == '\'':
			end := strings.IndexByte(s[i+1:], ch)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c quote at offset %d", ch, i)
			}
			text := s[i+1 : i+1+end]
			kind := tokKey
			if ch == '\'' {
				kind = tokValue
			}
			toks = append(toks, tagTok{kind: kind, text: text})
			i += end + 2
		case ch == '=':
			toks = append(toks, tagTok{kind: tokOp, text: "="})
			i++
		case ch == '<' || ch == '>':
			op := string(ch)
			if i+1 < len(s) && (s[i+1] == '=' || (ch == '<' && s[i+1] == '>')) {
				op += string(s[i+1])
			}
			toks = append(toks, tagTok{kind: tokOp, text: op})
			i += len(op)
		case ch == '@' || bareKeyChar(ch):
			j := i + 1
			for j < len(s) && bareKeyChar(s[j]) {
				j++
			}
			word := s[i:j]
			switch {
			case strings.EqualFold(word, "AND"):
				toks = append(toks, tagTok{kind: tokAnd})
			case strings.EqualFold(word, "OR"):
				toks = append(toks, tagTok{kind: tokOr})
			case word == "@container":
				toks = append(toks, tagTok{kind: tokContainer})
			case ch == '@':
				return nil, fmt.Errorf("unknown name %q: @container is the only one", word)
			default:
				toks = append(toks, tagTok{kind: tokKey, text: word})
			}
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", ch, i)
		}
	}
	return append(toks, tagTok{kind: tokEOF}), nil
}

func bareKeyChar(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_'
}

type tagParser struct {
	toks    []tagTok
	pos     int
	dialect tagDialect
	expr    *tagExpr
	cmps    int
	seen    map[string]bool
	// bounds records, per key, the sides (">" or "<") a Find Blobs by
	// Tags expression has bounded it from.
	bounds map[string]string
}

// parseTagExpr parses an expression of the given dialect.
func parseTagExpr(s string, dialect tagDialect) (*tagExpr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("the expression is empty")
	}
	toks, err := lexTagExpr(s)
	if err != nil {
		return nil, err
	}
	p := &tagParser{toks: toks, dialect: dialect, expr: &tagExpr{}, seen: map[string]bool{}, bounds: map[string]string{}}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("unexpected %s", describeTok(t))
	}
	if root == nil {
		return nil, errors.New("the expression compares no tag")
	}
	p.expr.root = root
	return p.expr, nil
}

func (p *tagParser) peek() tagTok { return p.toks[p.pos] }
func (p *tagParser) next() tagTok {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func describeTok(t tagTok) string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokKey:
		return fmt.Sprintf("key %q", t.text)
	case tokValue:
		return fmt.Sprintf("value '%s'", t.text)
	case tokOp:
		return "operator " + t.text
	case tokLParen:
		return "("
	case tokRParen:
		return ")"
	case tokAnd:
		return "AND"
	case tokOr:
		return "OR"
	}
	return "@container"
}

// or parses a disjunction; a nil node with no error is a Find expression
// made only of @container.
func (p *tagParser) or(depth int) (tagNode, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokOr {
		if p.dialect == dialectFind {
			return nil, errors.New("OR is not allowed in Find Blobs by Tags")
		}
		p.next()
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = tagOr{l, r}
	}
	return l, nil
}

func (p *tagParser) and(depth int) (tagNode, error) {
	l, err := p.primary(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokAnd {
		p.next()
		r, err := p.primary(depth)
		if err != nil {
			return nil, err
		}
		switch {
		case l == nil:
			l = r
		case r != nil:
			l = tagAnd{l, r}
		}
	}
	return l, nil
}

func (p *tagParser) primary(depth int) (tagNode, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		if p.dialect == dialectFind {
			return nil, errors.New("parentheses are not allowed in Find Blobs by Tags")
		}
		if depth >= maxTagExprDepth {
			return nil, errors.New("parentheses are nested too deeply")
		}
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, fmt.Errorf("expected ), found %s", describeTok(c))
		}
		return n, nil
	case tokContainer:
		if p.dialect != dialectFind {
			return nil, errors.New("@container is allowed only in Find Blobs by Tags")
		}
		op, v := p.next(), p.next()
		if op.kind != tokOp || op.text != "=" || v.kind != tokValue {
			return nil, errors.New("@container must be compared with = to a quoted container name")
		}
		if p.expr.container != "" {
			return nil, errors.New("@container may be given only once")
		}
		if validContainerName(v.text) != nil {
			return nil, fmt.Errorf("invalid container name '%s'", v.text)
		}
		p.expr.container = v.text
		return nil, nil
	case tokKey:
		op, v := p.next(), p.next()
		if op.kind != tokOp {
			return nil, fmt.Errorf("expected an operator after key %q, found %s", t.text, describeTok(op))
		}
		if v.kind != tokValue {
			return nil, fmt.Errorf("expected a quoted value after %q %s, found %s", t.text, op.text, describeTok(v))
		}
		if t.text == "" || len(t.text) > store.MaxTagKeyLength || !validTagText(t.text) {
			return nil, fmt.Errorf("invalid tag key %q", t.text)
		}
		if len(v.text) > store.MaxTagValueLength || !validTagText(v.text) {
			return nil, fmt.Errorf("invalid tag value '%s'", v.text)
		}
		if p.dialect == dialectFind {
			if op.text == "<>" {
				return nil, errors.New("<> is not allowed in Find Blobs by Tags")
			}
			p.cmps++
			if p.cmps > MaxTagFilters {
				return nil, fmt.Errorf("more than %d tag comparisons", MaxTagFilters)
			}
			if side := op.text[:1]; side != "=" {
				if strings.Contains(p.bounds[t.text], side) {
					return nil, fmt.Errorf("tag %q is bounded twice from the same side", t.text)
				}
				p.bounds[t.text] += side
			}
		}
		if !p.seen[t.text] {
			p.seen[t.text] = true
			p.expr.keys = append(p.expr.keys, t.text)
		}
		return tagCmp{key: t.text, op: op.text, value: v.text}, nil
	}
	return nil, fmt.Errorf("unexpected %s", describeTok(t))
}

func validTagText(s string) bool {
	for _, r := range s {
		if !store.ValidTagChar(r) {
			return false
		}
	}
	return true
}
