package thirdparty

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// Outcome is how one test case ended.
type Outcome string

// The outcomes of a case. Incomplete is a case that started and never
// reported an end: the test binary timed out, panicked or was killed.
const (
	Pass       Outcome = "pass"
	Fail       Outcome = "fail"
	Skip       Outcome = "skip"
	Incomplete Outcome = "incomplete"
)

// ErrNoCases is wrapped by [Parse]'s error when a test stream holds no test
// case at all, as when the third-party package failed to build.
var ErrNoCases = errors.New("thirdparty: no test case in the output")

// maxOutputPerCase bounds the output kept for one case; a case that logs
// more keeps its first lines, where the failure is reported.
const maxOutputPerCase = 16 << 10

// Case is one test case of a third-party suite.
type Case struct {
	Name    string // full name, as `go test -run` takes it: TestX/Sub/Leaf
	Outcome Outcome
	Output  string // what the case printed, capped at 16 KiB
}

// Results are the cases of one run of a suite, by name.
type Results struct {
	Cases map[string]*Case
	// BuildOutput is what the stream carried outside any case (build
	// errors, the package's final ok/FAIL line).
	BuildOutput string
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action string
	Test   string
	Output string
}

// Parse reads a `go test -json` stream. Lines that are not JSON events
// (a build error printed by the go command) are kept in BuildOutput.
func Parse(r io.Reader) (*Results, error) {
	res := &Results{Cases: map[string]*Case{}}
	var outside strings.Builder
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			if outside.Len() < maxOutputPerCase {
				outside.Write(line)
				outside.WriteByte('\n')
			}
			continue
		}
		if ev.Test == "" {
			if ev.Action == "output" && outside.Len() < maxOutputPerCase {
				outside.WriteString(ev.Output)
			}
			continue
		}
		c := res.Cases[ev.Test]
		if c == nil {
			c = &Case{Name: ev.Test, Outcome: Incomplete}
			res.Cases[ev.Test] = c
		}
		switch ev.Action {
		case "output":
			if len(c.Output) < maxOutputPerCase {
				c.Output += ev.Output
			}
		case "pass", "fail", "skip":
			c.Outcome = Outcome(ev.Action)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("thirdparty: reading test events: %w", err)
	}
	res.BuildOutput = outside.String()
	if len(res.Cases) == 0 {
		return res, fmt.Errorf("%w: %s", ErrNoCases, strings.TrimSpace(res.BuildOutput))
	}
	return res, nil
}

// Leaves returns the cases that have no subtests, sorted by name: the
// outcome of a parent is only the sum of its subtests', so counting parents
// too would count one failure several times.
func (r *Results) Leaves() []*Case {
	names := make([]string, 0, len(r.Cases))
	for n := range r.Cases {
		names = append(names, n)
	}
	sort.Strings(names)
	var leaves []*Case
	for i, n := range names {
		// Sorted, a case's subtests follow it directly ("A" < "A/…"),
		// although "A-b" or "A.b" may sort between them.
		parent := false
		for _, m := range names[i+1:] {
			if strings.HasPrefix(m, n+"/") {
				parent = true
				break
			}
			if !strings.HasPrefix(m, n) {
				break
			}
		}
		if !parent {
			leaves = append(leaves, r.Cases[n])
		}
	}
	return leaves
}

// Counts are the leaf cases of a run by outcome.
type Counts struct {
	Pass, Fail, Skip, Incomplete int
}

// Total is the number of leaf cases.
func (c Counts) Total() int { return c.Pass + c.Fail + c.Skip + c.Incomplete }

func (c Counts) String() string {
	s := fmt.Sprintf("%d passed, %d failed, %d skipped", c.Pass, c.Fail, c.Skip)
	if c.Incomplete > 0 {
		s += fmt.Sprintf(", %d incomplete", c.Incomplete)
	}
	return s
}

// Count counts the leaf cases by outcome.
func (r *Results) Count() Counts {
	var c Counts
	for _, l := range r.Leaves() {
		switch l.Outcome {
		case Pass:
			c.Pass++
		case Fail:
			c.Fail++
		case Skip:
			c.Skip++
		default:
			c.Incomplete++
		}
	}
	return c
}

// Failed returns the leaf cases that failed or never finished.
func (r *Results) Failed() []*Case {
	var out []*Case
	for _, l := range r.Leaves() {
		if l.Outcome == Fail || l.Outcome == Incomplete {
			out = append(out, l)
		}
	}
	return out
}

var (
	// The emulator names what it does not model in its error messages.
	notModelledRE = regexp.MustCompile(`does not model ([^.&<]+)`)
	// azcore's ResponseError text: "ERROR CODE: X".
	errorCodeRE = regexp.MustCompile(`ERROR CODE: ([A-Za-z]+)`)
	xmlCodeRE   = regexp.MustCompile(`<Code>([A-Za-z]+)</Code>`)
)

// Reason guesses, from a failed case's output, what made it fail: the
// feature the emulator says it does not model, else the first Azure error
// code in the output, else "". It seeds the expectation file; a person
// then checks it.
func Reason(output string) string {
	if m := notModelledRE.FindStringSubmatch(output); m != nil {
		return "not modelled: " + strings.TrimSpace(m[1])
	}
	if m := errorCodeRE.FindStringSubmatch(output); m != nil {
		return "error code " + m[1]
	}
	if m := xmlCodeRE.FindStringSubmatch(output); m != nil {
		return "error code " + m[1]
	}
	return ""
}
