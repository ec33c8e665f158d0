package demo

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Outage is a half-open range [From, To) of read indexes during which the
// primary answers 503 to reads of the demo blob.
type Outage struct{ From, To int }

// Outages is a schedule of outages, sorted and non-overlapping.
type Outages []Outage

// ErrBadOutages is wrapped by ParseOutages errors.
var ErrBadOutages = errors.New("bad --outages value")

// DefaultOutages is the schedule the demo uses when none is given: the
// original sample's pauses at reads 200, 400, 600 and 800.
const DefaultOutages = "200-400,600-800"

// ParseOutages parses "200-400,600-800" or "none". Every range must lie in
// [0, reads] and ranges must not overlap.
func ParseOutages(s string, reads int) (Outages, error) {
	s = strings.TrimSpace(s)
	if s == "none" || s == "" {
		return nil, nil
	}
	var out Outages
	for _, part := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return nil, fmt.Errorf("%w: %q is not FROM-TO", ErrBadOutages, part)
		}
		from, err1 := strconv.Atoi(strings.TrimSpace(a))
		to, err2 := strconv.Atoi(strings.TrimSpace(b))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: %q: FROM and TO must be whole numbers", ErrBadOutages, part)
		}
		if from < 0 || to <= from || to > reads {
			return nil, fmt.Errorf("%w: %q: need 0 <= FROM < TO <= %d", ErrBadOutages, part, reads)
		}
		out = append(out, Outage{from, to})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	for i := 1; i < len(out); i++ {
		if out[i].From < out[i-1].To {
			return nil, fmt.Errorf("%w: %d-%d overlaps %d-%d", ErrBadOutages, out[i].From, out[i].To, out[i-1].From, out[i-1].To)
		}
	}
	return out, nil
}

// Active reports whether read i falls in an outage.
func (o Outages) Active(i int) bool {
	for _, r := range o {
		if i >= r.From && i < r.To {
			return true
		}
	}
	return false
}

// Near reports whether read i is inside an outage or within slack reads
// after one ends.
func (o Outages) Near(i, slack int) bool {
	for _, r := range o {
		if i >= r.From && i < r.To+slack {
			return true
		}
	}
	return false
}

// String formats the schedule as ParseOutages accepts it.
func (o Outages) String() string {
	if len(o) == 0 {
		return "none"
	}
	parts := make([]string, len(o))
	for i, r := range o {
		parts[i] = fmt.Sprintf("%d-%d", r.From, r.To)
	}
	return strings.Join(parts, ",")
}
