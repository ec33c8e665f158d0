package dashboard

import (
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/control"
)

// TestStatusShowsRoles: the replication panel sums up the roles.
func TestStatusShowsRoles(t *testing.T) {
	tests := []struct {
		roles *control.Roles
		want  string
	}{
		{nil, ""},
		{&control.Roles{Primary: "a", Redundancy: "RA-GRS", Epoch: 1}, "primary copy a, RA-GRS, epoch 1"},
		{&control.Roles{Primary: "b", Redundancy: "LRS", Epoch: 2}, "primary copy b, LRS, epoch 2"},
		{&control.Roles{Primary: "b", Redundancy: "RA-GRS", Epoch: 3, BootstrapUntil: time.Unix(1, 0)}, "primary copy b, RA-GRS, epoch 3, bootstrapping"},
		{&control.Roles{Primary: "a", Redundancy: "RA-GRS", Epoch: 4, SecondaryDown: true}, "primary copy a, RA-GRS, epoch 4, secondary down"},
	}
	for _, tc := range tests {
		h := New(Sources{Replication: func() control.ReplicationStatus {
			return control.ReplicationStatus{Status: "live", Roles: tc.roles}
		}}, Options{})
		if got := h.status().Replication.Roles; got != tc.want {
			t.Errorf("roles %+v: %q, want %q", tc.roles, got, tc.want)
		}
	}
}
