package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeFailover records the failover calls the control API makes.
type fakeFailover struct {
	lrs  bool
	last *FailoverReport
	lag  string
	up   bool
}

func (f *fakeFailover) Failover(_ context.Context, req FailoverRequest) (FailoverReport, error) {
	switch {
	case req.Type != "planned" && req.Type != "unplanned":
		return FailoverReport{}, fmt.Errorf("failover type %q: want planned or unplanned", req.Type)
	case f.lrs:
		return FailoverReport{}, fmt.Errorf("%w: the account is LRS", ErrConflict)
	}
	rep := FailoverReport{Type: req.Type, To: "b", Lost: []LostWrite{{Op: "put-blob", Blob: "x", Bytes: 3, Committed: time.Unix(1, 0).UTC()}}, LostBytes: 3}
	f.last = &rep
	f.lrs = req.Type == "unplanned"
	return rep, nil
}
func (f *fakeFailover) LastFailover() *FailoverReport { return f.last }
func (f *fakeFailover) Enable(context.Context) error {
	if !f.lrs {
		return fmt.Errorf("%w: already geo-redundant", ErrConflict)
	}
	f.lrs = false
	return nil
}
func (f *fakeFailover) SetSecondaryAvailable(up bool) error { f.up = up; return nil }
func (f *fakeFailover) SetLagModel(spec string, _ uint64) error {
	if spec != "gpr" {
		return errors.New("bad model")
	}
	f.lag = spec
	return nil
}

func TestFailoverEndpoints(t *testing.T) {
	fo := &fakeFailover{}
	h := NewHandler(Config{Replication: &fakeReplication{status: "live"}, Failover: fo})
	tests := []struct {
		method, path, body string
		code               int
		want               string // substring of the answer
	}{
		{"GET", "/_geoblob/failover", "", 404, "no failover yet"},
		{"POST", "/_geoblob/failover", `{"type":"sideways"}`, 400, "want planned or unplanned"},
		{"POST", "/_geoblob/failover", `{"type":"planned","extra":1}`, 400, "unknown field"},
		{"PUT", "/_geoblob/failover", `{}`, 405, "GET, POST"},
		{"POST", "/_geoblob/replication/enable", "", 409, "already geo-redundant"},
		{"POST", "/_geoblob/failover", `{"type":"unplanned"}`, 200, `"lostBytes": 3`},
		{"GET", "/_geoblob/failover", "", 200, `"op": "put-blob"`},
		{"POST", "/_geoblob/failover", `{"type":"planned"}`, 409, "the account is LRS"},
		{"POST", "/_geoblob/replication/enable", "", 200, `"status": "live"`},
		{"GET", "/_geoblob/replication/enable", "", 405, "POST"},
		{"PUT", "/_geoblob/replication/secondary", `{"available":true}`, 200, `"status"`},
		{"PUT", "/_geoblob/replication/secondary", `{"available":"no"}`, 400, "invalid body"},
		{"PUT", "/_geoblob/replication/lag", `{"model":"gpr","seed":2}`, 200, `"status"`},
		{"PUT", "/_geoblob/replication/lag", `{"model":"normal"}`, 400, "bad model"},
		{"PUT", "/_geoblob/replication/other", `{}`, 404, "no control endpoint"},
	}
	for _, tc := range tests {
		a := call(t, h, loop4, tc.method, tc.path, tc.body)
		if a.code != tc.code || !strings.Contains(a.raw, tc.want) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", tc.method, tc.path, tc.body, a.code, a.raw, tc.code, tc.want)
		}
	}
	if fo.lag != "gpr" || !fo.up {
		t.Errorf("calls not made: %+v", fo)
	}
	// Without a Failover the endpoints answer 404.
	h = NewHandler(Config{Replication: &fakeReplication{status: "live"}})
	for _, p := range []string{"/_geoblob/failover", "/_geoblob/replication/enable"} {
		if a := call(t, h, loop4, "POST", p, `{"type":"planned"}`); a.code != 404 {
			t.Errorf("POST %s without Failover: %d", p, a.code)
		}
	}
}
