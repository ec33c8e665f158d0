package thirdparty

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ErrBadExpectations is wrapped by [ParseExpectations]'s error for a
// malformed expectation file.
var ErrBadExpectations = errors.New("thirdparty: malformed expectation file")

// Expectations list the cases of a suite known to fail against a target,
// each with the reason: the operation or feature the target lacks.
// Every other case that runs is expected to pass or skip.
type Expectations map[string]string

// ParseExpectations reads an expectation file: one case a line, its full
// name, a tab, and the reason. Blank lines and lines starting with # are
// comments.
func ParseExpectations(r io.Reader) (Expectations, error) {
	exp := Expectations{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, ok := strings.Cut(line, "\t")
		name, reason = strings.TrimSpace(name), strings.TrimSpace(reason)
		switch {
		case !ok || name == "" || reason == "":
			return nil, fmt.Errorf("%w: line %d: want CASE<tab>REASON, got %q", ErrBadExpectations, n, line)
		case exp[name] != "":
			return nil, fmt.Errorf("%w: line %d: %s listed twice", ErrBadExpectations, n, name)
		}
		exp[name] = reason
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("thirdparty: reading expectations: %w", err)
	}
	return exp, nil
}

// WriteExpectations writes exp in the format ParseExpectations reads,
// sorted, under a comment header.
func WriteExpectations(w io.Writer, header string, exp Expectations) error {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(header), "\n") {
		b.WriteString("# " + l + "\n")
	}
	names := make([]string, 0, len(exp))
	for n := range exp {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(n + "\t" + exp[n] + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// MismatchKind says how a run departs from its expectations.
type MismatchKind string

// The ways a run can depart from its expectations.
const (
	// Regressed: a case not listed failed (or never finished).
	Regressed MismatchKind = "regressed"
	// Fixed: a listed case passed or was skipped; take it off the list.
	Fixed MismatchKind = "now passes"
	// Missing: a listed case did not run at all; the list is stale.
	Missing MismatchKind = "did not run"
)

// Mismatch is one case whose outcome departs from the expectations.
type Mismatch struct {
	Case    string
	Kind    MismatchKind
	Outcome Outcome // "" for Missing
	Reason  string  // the listed reason, or Reason(output) for a regression
}

func (m Mismatch) String() string {
	switch m.Kind {
	case Regressed:
		return fmt.Sprintf("%s: %s (%s), not in the expectation file; cause: %s", m.Case, m.Kind, m.Outcome, orUnknown(m.Reason))
	case Fixed:
		return fmt.Sprintf("%s: %s (%s) but is listed as failing for %q; remove it from the expectation file", m.Case, m.Kind, m.Outcome, m.Reason)
	}
	return fmt.Sprintf("%s: listed as failing for %q but %s", m.Case, m.Reason, m.Kind)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown, see its output"
	}
	return s
}

// Compare checks a run's leaf cases against exp and returns every
// departure, sorted by case: a run matches only when exactly the listed
// cases fail.
func Compare(res *Results, exp Expectations) []Mismatch {
	var out []Mismatch
	seen := map[string]bool{}
	for _, c := range res.Leaves() {
		seen[c.Name] = true
		reason, listed := exp[c.Name]
		failed := c.Outcome == Fail || c.Outcome == Incomplete
		switch {
		case failed && !listed:
			out = append(out, Mismatch{Case: c.Name, Kind: Regressed, Outcome: c.Outcome, Reason: Reason(c.Output)})
		case !failed && listed:
			out = append(out, Mismatch{Case: c.Name, Kind: Fixed, Outcome: c.Outcome, Reason: reason})
		}
	}
	for name, reason := range exp {
		if !seen[name] {
			out = append(out, Mismatch{Case: name, Kind: Missing, Reason: reason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Case < out[j].Case })
	return out
}

// Observed returns the expectations a run supports: its failed leaf cases,
// with the reason already listed in prev where there is one, else the
// reason guessed from the output.
func Observed(res *Results, prev Expectations) Expectations {
	exp := Expectations{}
	for _, c := range res.Failed() {
		r := prev[c.Name]
		if r == "" {
			r = orUnknown(Reason(c.Output))
		}
		exp[c.Name] = r
	}
	return exp
}
