package fault

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseRuleValidFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseRule(data)
			if err != nil {
				t.Fatalf("ParseRule: %v", err)
			}
			// The JSON form round-trips.
			out, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			r2, err := ParseRule(out)
			if err != nil {
				t.Fatalf("reparse %s: %v", out, err)
			}
			if !reflect.DeepEqual(r, r2) {
				t.Errorf("round trip changed the rule:\n%+v\n%+v", r, r2)
			}
			if r.String() == "" {
				t.Error("empty summary")
			}
		})
	}
}

func TestParseRuleEverything(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/everything.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRule(data)
	if err != nil {
		t.Fatal(err)
	}
	want := Rule{
		Endpoint: Both,
		Match:    Match{Methods: []string{"get", "HEAD"}, Op: Read, Account: "devstoreaccount1", Container: "demo", Blob: "logs/*.txt"},
		Action:   Action{Status: 500, Code: "InternalError", Message: "boom", Latency: Duration(200 * time.Millisecond), Jitter: Duration(50 * time.Millisecond)},
		Limits:   Limits{Probability: new(0.25), Count: 10, For: Duration(30 * time.Second), After: Duration(10 * time.Second)},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	const summary = "both GET,HEAD reads account=devstoreaccount1 container=demo blob~logs/*.txt -> latency 200ms+50ms then 500 InternalError [p=0.25 count=10 after=10s for=30s]"
	if got := r.String(); got != summary {
		t.Errorf("String() = %q, want %q", got, summary)
	}
}

func TestParseRuleInvalidFixtures(t *testing.T) {
	want := map[string]string{
		"empty.json":                 "empty body",
		"not-object.json":            "cannot unmarshal array",
		"unknown-field.json":         `unknown field "colour"`,
		"unknown-action-field.json":  `unknown field "delay"`,
		"no-endpoint.json":           "endpoint is required",
		"bad-endpoint.json":          `endpoint "tertiary"`,
		"empty-action.json":          "action is empty",
		"two-actions.json":           "status and hang cannot be combined",
		"two-resets.json":            "only one of reset",
		"status-range.json":          "action.status 200",
		"code-without-status.json":   "code and message need a status",
		"bad-code.json":              "action.code",
		"latency-number.json":        "duration must be a string",
		"latency-garbage.json":       `duration "soon"`,
		"negative-latency.json":      "must not be negative",
		"latency-hang.json":          "latency cannot be combined with hang",
		"probability.json":           "probability 1.5 is outside 0..1",
		"negative-count.json":        "limits.count -1",
		"negative-bytes.json":        "resetAfterBytes -5",
		"bad-op.json":                `match.op "delete"`,
		"op-method-conflict.json":    "PUT is not a read",
		"bad-method.json":            "is not an HTTP method",
		"trailing.json":              "trailing data",
		"wrong-type.json":            "action.status",
		"jitter-huge.json":           "at most 24h0m0s",
		"latency-huge.json":          "at most 24h0m0s",
		"duplicate-member.json":      `member "endpoint" is given twice`,
		"duplicate-member-case.json": `member "STATUS" is given twice`,
	}
	files, err := filepath.Glob("testdata/invalid/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("%d fixtures, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			msg, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseRule(data)
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("ParseRule error = %v, want ErrInvalidRule", err)
			}
			if !strings.Contains(err.Error(), msg) {
				t.Errorf("error %q does not mention %q", err, msg)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	get := Target{Endpoint: Primary, Method: "GET", Account: "acct", Container: "c", Blob: "dir/HelloWorld.png"}
	put := get
	put.Method = "PUT"
	sec := get
	sec.Endpoint = Secondary
	tests := []struct {
		name string
		rule Rule
		t    Target
		want bool
	}{
		{"empty match", Rule{Endpoint: Primary}, get, true},
		{"other endpoint", Rule{Endpoint: Primary}, sec, false},
		{"both endpoints", Rule{Endpoint: Both}, sec, true},
		{"method any case", Rule{Endpoint: Primary, Match: Match{Methods: []string{"get"}}}, get, true},
		{"method mismatch", Rule{Endpoint: Primary, Match: Match{Methods: []string{"GET"}}}, put, false},
		{"read op", Rule{Endpoint: Primary, Match: Match{Op: Read}}, get, true},
		{"read op on put", Rule{Endpoint: Primary, Match: Match{Op: Read}}, put, false},
		{"write op", Rule{Endpoint: Primary, Match: Match{Op: Write}}, put, true},
		{"account", Rule{Endpoint: Primary, Match: Match{Account: "acct"}}, get, true},
		{"other account", Rule{Endpoint: Primary, Match: Match{Account: "other"}}, get, false},
		{"container", Rule{Endpoint: Primary, Match: Match{Container: "c"}}, get, true},
		{"container is exact", Rule{Endpoint: Primary, Match: Match{Container: "cc"}}, get, false},
		{"blob substring", Rule{Endpoint: Primary, Match: Match{Blob: "HelloWorld"}}, get, true},
		{"blob substring miss", Rule{Endpoint: Primary, Match: Match{Blob: "Goodbye"}}, get, false},
		{"blob glob across slash", Rule{Endpoint: Primary, Match: Match{Blob: "*.png"}}, get, true},
		{"blob glob is anchored", Rule{Endpoint: Primary, Match: Match{Blob: "Hello*"}}, get, false},
		{"blob glob question mark", Rule{Endpoint: Primary, Match: Match{Blob: "dir/HelloWorld.p?g"}}, get, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rule.matches(tt.t); got != tt.want {
				t.Errorf("matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "a/b/c", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*a*b*c*", "xaxbxcx", true},
		{"*a*b*c*", "xaxcxbx", false},
		{"**", "anything", true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false}, // no blow-up
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestDefaultError(t *testing.T) {
	tests := []struct {
		status int
		code   string
	}{
		{503, "ServerBusy"},
		{500, "InternalError"},
		{429, "ServerBusy"},
		{408, "OperationTimedOut"},
		{502, "BadGateway"},
		{599, "Status599"},
	}
	for _, tt := range tests {
		code, msg := defaultError(tt.status)
		if code != tt.code || msg == "" {
			t.Errorf("defaultError(%d) = %q, %q; want code %q", tt.status, code, msg, tt.code)
		}
	}
}

// TestDecideNeverPanics: the largest delays a rule may hold are resolved
// without overflow (a jitter of MaxInt64 once made rand.Int64N panic).
func TestDecideNeverPanics(t *testing.T) {
	s := NewSet()
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Latency: MaxDelay, Jitter: MaxDelay}})
	a, ok := s.Decide(getBlob)
	if !ok || a.Latency < MaxDelay || a.Latency > 2*MaxDelay || a.Jitter != 0 {
		t.Errorf("Decide = %+v, %v", a, ok)
	}
}

// TestDuplicateMembersInNestedValues: names repeated in different objects,
// or inside arrays, are not duplicates.
func TestDuplicateMembersInNestedValues(t *testing.T) {
	valid := `{"endpoint":"both","match":{"methods":["GET","HEAD"],"blob":"x"},"action":{"status":503},"limits":{"count":1}}`
	if _, err := ParseRule([]byte(valid)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{"endpoint":"both","match":{"blob":"x","Blob":"y"},"action":{"status":503}}`,
		`{"endpoint":"both","action":{"status":503},"limits":{"count":1},"limits":{"count":2}}`,
	} {
		if _, err := ParseRule([]byte(bad)); err == nil || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
