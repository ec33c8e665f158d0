package fault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidRule is wrapped by every error that reports a malformed rule.
var ErrInvalidRule = errors.New("fault: invalid rule")

// Endpoint selects the side of a geo-redundant account a rule applies to.
type Endpoint string

// Endpoints.
const (
	Primary   Endpoint = "primary"
	Secondary Endpoint = "secondary"
	Both      Endpoint = "both"
)

// Op is a class of operation: reads are GET and HEAD, writes are every
// other method.
type Op string

// Operation classes.
const (
	Read  Op = "read"
	Write Op = "write"
)

// OpOf classifies an HTTP method.
func OpOf(method string) Op {
	if strings.EqualFold(method, http.MethodGet) || strings.EqualFold(method, http.MethodHead) {
		return Read
	}
	return Write
}

// Duration is a time.Duration written in JSON as a Go duration string such
// as "200ms" or "30s".
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string such as "1.5s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"200ms\" or \"30s\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a value such as \"200ms\" or \"30s\"", s)
	}
	*d = Duration(v)
	return nil
}

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MaxDelay is the longest latency, and the longest jitter, a rule may add.
const MaxDelay = Duration(24 * time.Hour)

// Rule is one fault: where it applies, what it matches, what it does and
// how often. Its JSON form is the control API's wire format.
type Rule struct {
	// Endpoint is required: primary, secondary or both.
	Endpoint Endpoint `json:"endpoint"`
	Match    Match    `json:"match,omitzero"`
	Action   Action   `json:"action"`
	Limits   Limits   `json:"limits,omitzero"`
}

// Match narrows the requests a rule applies to. Every field is optional; an
// empty Match matches every request to the rule's endpoint.
type Match struct {
	// Methods, when set, is the list of HTTP methods matched (any case).
	Methods []string `json:"methods,omitempty"`
	// Op, when set, matches reads (GET, HEAD) or writes (everything else).
	Op Op `json:"op,omitempty"`
	// Account matches the storage account name exactly, without any
	// -secondary suffix.
	Account string `json:"account,omitempty"`
	// Container matches the container name exactly.
	Container string `json:"container,omitempty"`
	// Blob matches the blob name: a glob over the whole name when it holds
	// * (any run of characters, slashes included) or ? (one character),
	// otherwise a substring.
	Blob string `json:"blob,omitempty"`
}

// Action is what a firing rule does. Exactly one of Status, a reset (Reset,
// ResetAfterBytes, ResetAfterRequestBytes), Hang and Refuse may be set.
// Latency and Jitter delay the request first; alone they delay the real
// answer, with Status or a reset they delay the fault.
type Action struct {
	// Status answers with this HTTP status (400-599) and an Azure error
	// body instead of the real answer.
	Status int `json:"status,omitempty"`
	// Code is the Azure error code of Status; a default suits the status
	// when empty (503 ServerBusy, 500 InternalError, ...).
	Code string `json:"code,omitempty"`
	// Message is the error message of Status; a default when empty.
	Message string `json:"message,omitempty"`

	// Latency delays the request by this much, plus a random extra of up
	// to Jitter; each is at most MaxDelay. Removing the rule ends the
	// delays it is holding.
	Latency Duration `json:"latency,omitzero"`
	Jitter  Duration `json:"jitter,omitzero"`

	// Reset resets the connection (TCP RST) before anything is answered;
	// the request is not processed.
	Reset bool `json:"reset,omitempty"`
	// ResetAfterBytes lets the real answer through, cuts its body after
	// this many bytes and resets the connection: a truncated download. An
	// answer whose body is no longer than that arrives whole.
	ResetAfterBytes *int64 `json:"resetAfterBytes,omitempty"`
	// ResetAfterRequestBytes cuts the request body after this many bytes
	// (the server sees a broken upload) and resets the connection; no
	// answer arrives. A request body no longer than that is processed in
	// full, and its answer is lost to the reset.
	ResetAfterRequestBytes *int64 `json:"resetAfterRequestBytes,omitempty"`

	// Hang holds the request unanswered until the client gives up. The
	// hang ends with a reset when the rule ends: it is removed or cleared,
	// its Limits.For passes, or a request it matches goes by after its
	// Limits.Count firings (the endpoint is back). Closing the Set ends
	// every hang.
	Hang bool `json:"hang,omitempty"`
	// Refuse makes the endpoint behave as down: the connection is reset at
	// once, or not accepted at all where the listener can tell (see
	// RefuseListener).
	Refuse bool `json:"refuse,omitempty"`
}

// Limits bound when and how often a rule fires. The zero value fires on
// every matching request, forever.
type Limits struct {
	// Probability (0 to 1) that a matching request fires the rule; nil
	// means 1.
	Probability *float64 `json:"probability,omitempty"`
	// Count caps the number of firings; 0 means no cap.
	Count int64 `json:"count,omitempty"`
	// For is how long the rule stays active once it has started; 0 means
	// for ever.
	For Duration `json:"for,omitzero"`
	// After delays the start of the rule from the moment it is added, to
	// schedule an outage.
	After Duration `json:"after,omitzero"`
}

// ParseRule decodes one rule from JSON, rejecting unknown fields and
// trailing data, and validates it.
func ParseRule(data []byte) (Rule, error) {
	return DecodeRule(bytes.NewReader(data))
}

// DecodeRule reads one JSON rule from r as ParseRule does. A member given
// twice in one object (in any case, as encoding/json matches names without
// regard to case) is refused rather than silently overriding the first.
func DecodeRule(r io.Reader) (Rule, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Rule{}, fmt.Errorf("%w: the rule is larger than %d bytes", ErrInvalidRule, mbe.Limit)
		}
		return Rule{}, fmt.Errorf("%w: reading the rule: %w", ErrInvalidRule, err)
	}
	if err := noDuplicateMembers(data); err != nil {
		return Rule{}, fmt.Errorf("%w: %s", ErrInvalidRule, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rule Rule
	if err := dec.Decode(&rule); err != nil {
		if errors.Is(err, io.EOF) {
			return Rule{}, fmt.Errorf("%w: empty body, want a JSON rule", ErrInvalidRule)
		}
		return Rule{}, fmt.Errorf("%w: %s", ErrInvalidRule, strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return Rule{}, fmt.Errorf("%w: trailing data after the rule", ErrInvalidRule)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Rule{}, fmt.Errorf("%w: trailing data after the rule", ErrInvalidRule)
	}
	if err := rule.Validate(); err != nil {
		return Rule{}, err
	}
	return rule, nil
}

// noDuplicateMembers reports the first object member of data named twice,
// ignoring case. Syntax errors are left to the decoder.
func noDuplicateMembers(data []byte) error {
	type frame struct {
		seen map[string]bool // nil for an array
		key  bool            // the next token of this object is a member name
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].seen != nil {
			stack[n-1].key = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error the real decoding reports
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{seen: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].key {
			top := stack[n-1]
			name, _ := tok.(string)
			k := strings.ToLower(name)
			if top.seen[k] {
				return fmt.Errorf("member %q is given twice", name)
			}
			top.seen[k] = true
			top.key = false
			continue
		}
		valueDone()
	}
}

// Validate reports the first problem with r, wrapping ErrInvalidRule.
func (r Rule) Validate() error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidRule, err)
	}
	return nil
}

func (r Rule) validate() error {
	switch r.Endpoint {
	case Primary, Secondary, Both:
	case "":
		return errors.New("endpoint is required: primary, secondary or both")
	default:
		return fmt.Errorf("endpoint %q: want primary, secondary or both", r.Endpoint)
	}
	if err := r.Match.validate(); err != nil {
		return err
	}
	if err := r.Action.validate(); err != nil {
		return err
	}
	return r.Limits.validate()
}

func (m Match) validate() error {
	switch m.Op {
	case "", Read, Write:
	default:
		return fmt.Errorf("match.op %q: want read or write", m.Op)
	}
	for _, meth := range m.Methods {
		if meth == "" || len(meth) > 20 || strings.IndexFunc(meth, func(c rune) bool { return (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') }) >= 0 {
			return fmt.Errorf("match.methods: %q is not an HTTP method", meth)
		}
		if m.Op != "" && OpOf(meth) != m.Op {
			return fmt.Errorf("match.methods: %s is not a %s, so the rule could never match", strings.ToUpper(meth), m.Op)
		}
	}
	for _, f := range [...]struct{ name, v string }{{"account", m.Account}, {"container", m.Container}, {"blob", m.Blob}} {
		if len(f.v) > 1024 {
			return fmt.Errorf("match.%s is longer than 1024 characters", f.name)
		}
	}
	return nil
}

func (a Action) validate() error {
	var kinds []string
	if a.Status != 0 {
		kinds = append(kinds, "status")
	}
	resets := 0
	if a.Reset {
		resets++
	}
	if a.ResetAfterBytes != nil {
		resets++
		if *a.ResetAfterBytes < 0 {
			return fmt.Errorf("action.resetAfterBytes %d is negative", *a.ResetAfterBytes)
		}
	}
	if a.ResetAfterRequestBytes != nil {
		resets++
		if *a.ResetAfterRequestBytes < 0 {
			return fmt.Errorf("action.resetAfterRequestBytes %d is negative", *a.ResetAfterRequestBytes)
		}
	}
	if resets > 1 {
		return errors.New("action: give only one of reset, resetAfterBytes and resetAfterRequestBytes")
	}
	if resets == 1 {
		kinds = append(kinds, "reset")
	}
	if a.Hang {
		kinds = append(kinds, "hang")
	}
	if a.Refuse {
		kinds = append(kinds, "refuse")
	}
	delayed := a.Latency != 0 || a.Jitter != 0
	if len(kinds) > 1 {
		return fmt.Errorf("action: %s cannot be combined; give one", strings.Join(kinds, " and "))
	}
	if len(kinds) == 0 && !delayed {
		return errors.New("action is empty: give status, latency, reset, resetAfterBytes, resetAfterRequestBytes, hang or refuse")
	}
	if a.Latency < 0 || a.Jitter < 0 {
		return errors.New("action: latency and jitter must not be negative")
	}
	if a.Latency > MaxDelay || a.Jitter > MaxDelay {
		return fmt.Errorf("action: latency and jitter must each be at most %v; use hang for a request that never ends", time.Duration(MaxDelay))
	}
	if delayed && (a.Hang || a.Refuse) {
		return fmt.Errorf("action: latency cannot be combined with %s", kinds[0])
	}
	if a.Status != 0 && (a.Status < 400 || a.Status > 599) {
		return fmt.Errorf("action.status %d: want an error status, 400 to 599", a.Status)
	}
	if a.Status == 0 && (a.Code != "" || a.Message != "") {
		return errors.New("action: code and message need a status")
	}
	if len(a.Code) > 64 || strings.IndexFunc(a.Code, func(c rune) bool {
		return (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9')
	}) >= 0 {
		return fmt.Errorf("action.code %q: want letters and digits only, such as ServerBusy", a.Code)
	}
	if len(a.Message) > 1024 || strings.IndexFunc(a.Message, func(c rune) bool { return c < ' ' && c != '\t' }) >= 0 {
		return errors.New("action.message must be at most 1024 characters without control characters")
	}
	return nil
}

func (l Limits) validate() error {
	if p := l.Probability; p != nil && (math.IsNaN(*p) || *p < 0 || *p > 1) {
		return fmt.Errorf("limits.probability %v is outside 0..1", *p)
	}
	if l.Count < 0 {
		return fmt.Errorf("limits.count %d is negative", l.Count)
	}
	if l.For < 0 {
		return fmt.Errorf("limits.for %v is negative", l.For)
	}
	if l.After < 0 {
		return fmt.Errorf("limits.after %v is negative", l.After)
	}
	return nil
}

// Target describes a request as rules see it.
type Target struct {
	Endpoint  Endpoint // Primary or Secondary
	Method    string
	Account   string // without any -secondary suffix
	Container string
	Blob      string
}

// matches reports whether r applies to t, ignoring limits.
func (r *Rule) matches(t Target) bool {
	if r.Endpoint != Both && r.Endpoint != t.Endpoint {
		return false
	}
	m := &r.Match
	if len(m.Methods) > 0 {
		ok := false
		for _, meth := range m.Methods {
			if strings.EqualFold(meth, t.Method) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if m.Op != "" && OpOf(t.Method) != m.Op {
		return false
	}
	if m.Account != "" && m.Account != t.Account {
		return false
	}
	if m.Container != "" && m.Container != t.Container {
		return false
	}
	if m.Blob != "" {
		if strings.ContainsAny(m.Blob, "*?") {
			return glob(m.Blob, t.Blob)
		}
		return strings.Contains(t.Blob, m.Blob)
	}
	return true
}

// glob matches name against pattern, where * matches any run of characters
// (slashes included) and ? exactly one character.
func glob(pattern, name string) bool {
	// Iterative matcher with backtracking to the last star: linear in
	// practice, never exponential.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// defaultError is the Azure error code and message used for a status when
// the rule gives none. Blob storage throttles with 503 ServerBusy and times
// out with 500 OperationTimedOut; it never sends 429 itself, so an injected
// 429 reuses ServerBusy, the code clients associate with throttling.
func defaultError(status int) (code, message string) {
	switch status {
	case http.StatusServiceUnavailable:
		return "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
	case http.StatusInternalServerError:
		return "InternalError", "The server encountered an internal error. Please retry the request."
	case http.StatusTooManyRequests:
		return "ServerBusy", "Operations per second is over the account limit."
	case http.StatusRequestTimeout:
		return "OperationTimedOut", "The operation could not be completed within the permitted time."
	case http.StatusBadRequest:
		return "InvalidInput", "One of the request inputs is not valid."
	case http.StatusForbidden:
		return "AuthenticationFailed", "Server failed to authenticate the request."
	case http.StatusNotFound:
		return "ResourceNotFound", "The specified resource does not exist."
	case http.StatusPreconditionFailed:
		return "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."
	}
	text := http.StatusText(status)
	if text == "" {
		return "Status" + strconv.Itoa(status), "Injected fault."
	}
	return strings.NewReplacer(" ", "", "-", "", "'", "").Replace(text), text + " (injected fault)."
}

// String summarises the rule on one line, as geoblob fault list shows it.
func (r Rule) String() string {
	return fmt.Sprintf("%s %s -> %s%s", r.Endpoint, r.Match, r.Action, limitsSuffix(r.Limits))
}

func limitsSuffix(l Limits) string {
	s := l.String()
	if s == "always" {
		return ""
	}
	return " [" + s + "]"
}

// String summarises the match, "*" when it matches everything.
func (m Match) String() string {
	var parts []string
	if len(m.Methods) > 0 {
		parts = append(parts, strings.ToUpper(strings.Join(m.Methods, ",")))
	}
	if m.Op != "" {
		parts = append(parts, string(m.Op)+"s")
	}
	if m.Account != "" {
		parts = append(parts, "account="+m.Account)
	}
	if m.Container != "" {
		parts = append(parts, "container="+m.Container)
	}
	if m.Blob != "" {
		parts = append(parts, "blob~"+m.Blob)
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, " ")
}

// String summarises the action.
func (a Action) String() string {
	var parts []string
	if a.Latency != 0 || a.Jitter != 0 {
		d := "latency " + a.Latency.String()
		if a.Jitter != 0 {
			d += "+" + a.Jitter.String()
		}
		parts = append(parts, d)
	}
	switch {
	case a.Status != 0:
		code := a.Code
		if code == "" {
			code, _ = defaultError(a.Status)
		}
		parts = append(parts, fmt.Sprintf("%d %s", a.Status, code))
	case a.Reset:
		parts = append(parts, "reset")
	case a.ResetAfterBytes != nil:
		parts = append(parts, fmt.Sprintf("reset after %d response bytes", *a.ResetAfterBytes))
	case a.ResetAfterRequestBytes != nil:
		parts = append(parts, fmt.Sprintf("reset after %d request bytes", *a.ResetAfterRequestBytes))
	case a.Hang:
		parts = append(parts, "hang")
	case a.Refuse:
		parts = append(parts, "refuse")
	}
	return strings.Join(parts, " then ")
}

// String summarises the limits, "always" when there are none.
func (l Limits) String() string {
	var parts []string
	if l.Probability != nil {
		parts = append(parts, "p="+strconv.FormatFloat(*l.Probability, 'g', -1, 64))
	}
	if l.Count != 0 {
		parts = append(parts, "count="+strconv.FormatInt(l.Count, 10))
	}
	if l.After != 0 {
		parts = append(parts, "after="+l.After.String())
	}
	if l.For != 0 {
		parts = append(parts, "for="+l.For.String())
	}
	if len(parts) == 0 {
		return "always"
	}
	return strings.Join(parts, " ")
}
