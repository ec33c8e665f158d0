package blobapi

import (
	"slices"
	"testing"
)

// TestTagExprEval: both dialects parse and evaluate as documented.
func TestTagExprEval(t *testing.T) {
	tags := map[string]string{"a": "5", "b": "x y", "c": ""}
	tests := []struct {
		expr    string
		dialect tagDialect
		want    bool
		keys    []string
		cont    string
	}{
		{`"a" = '5'`, dialectFind, true, []string{"a"}, ""},
		{`a='5'`, dialectCondition, true, []string{"a"}, ""},
		{`"a" > '4' AND "a" < '6'`, dialectFind, true, []string{"a"}, ""},
		{`"a" >= '5' AND "a" <= '5' AND "b" = 'x y'`, dialectFind, true, []string{"a", "b"}, ""},
		{`"c" = ''`, dialectFind, true, []string{"c"}, ""},
		{`"a" > '40'`, dialectFind, true, []string{"a"}, ""}, // lexicographic
		{`@container = 'ctr' AND "a" = '5'`, dialectFind, true, []string{"a"}, "ctr"},
		{`"a" = '4' OR "b" = 'x y' AND "c" = 'no'`, dialectCondition, false, []string{"a", "b", "c"}, ""},
		{`("a" = '4' OR "b" = 'x y') AND "c" = ''`, dialectCondition, true, []string{"a", "b", "c"}, ""},
		{`"a" <> '4'`, dialectCondition, true, []string{"a"}, ""},
		{`"z" <> '4'`, dialectCondition, false, []string{"z"}, ""},
		{`"a" = '5' and "b" = 'x y' or "z" = '1'`, dialectCondition, true, []string{"a", "b", "z"}, ""},
	}
	for _, tt := range tests {
		e, err := parseTagExpr(tt.expr, tt.dialect)
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		if got := e.root.eval(tags); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.expr, got, tt.want)
		}
		if !slices.Equal(e.keys, tt.keys) || e.container != tt.cont {
			t.Errorf("%s: keys %v container %q", tt.expr, e.keys, e.container)
		}
	}
}

// TestTagExprErrors: what each dialect refuses.
func TestTagExprErrors(t *testing.T) {
	deep := ""
	for range maxTagExprDepth + 1 {
		deep += "("
	}
	deep += `"a" = '1'`
	for range maxTagExprDepth + 1 {
		deep += ")"
	}
	tests := []struct {
		expr    string
		dialect tagDialect
	}{
		{``, dialectFind},
		{`   `, dialectCondition},
		{`"a" = '1' OR "b" = '2'`, dialectFind},
		{`("a" = '1')`, dialectFind},
		{`"a" <> '1'`, dialectFind},
		{`@container = 'ctr'`, dialectFind},
		{`@container = 'ctr' AND @container = 'ctr' AND "a" = '1'`, dialectFind},
		{`@container = 'c' AND "a" = '1'`, dialectFind}, // not a valid container name
		{`@container = 'ctr' AND "a" = '1'`, dialectCondition},
		{`"a" > '1' AND "a" > '2'`, dialectFind},
		{`"a" < '1' AND "a" <= '2'`, dialectFind},
		{`"a" = 1`, dialectCondition},
		{`"a" '1'`, dialectCondition},
		{`"a" = '1`, dialectCondition},
		{`"a = '1'`, dialectCondition},
		{`"a" = '1' AND`, dialectCondition},
		{`AND "a" = '1'`, dialectCondition},
		{`"a" = '1')`, dialectCondition},
		{`"a" =< '1'`, dialectCondition},
		{`"a" = '1' "b" = '2'`, dialectCondition},
		{`"a$" = '1'`, dialectCondition},
		{`"a" = 'é'`, dialectCondition},
		{`"" = '1'`, dialectCondition},
		{deep, dialectCondition},
	}
	for _, tt := range tests {
		if _, err := parseTagExpr(tt.expr, tt.dialect); err == nil {
			t.Errorf("%q (dialect %d) parsed", tt.expr, tt.dialect)
		}
	}
	// A range bound from both sides is fine.
	if _, err := parseTagExpr(`"a" > '1' AND "a" < '5'`, dialectFind); err != nil {
		t.Error(err)
	}
}
