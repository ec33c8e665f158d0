package main

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/internal/control"
)

// TestServeVersioning: --versioning turns blob versioning on (a write
// answers x-ms-version-id), and the control API turns it off and reports
// it.
func TestServeVersioning(t *testing.T) {
	s := startServe(t, "--versioning")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := azblob.NewClientFromConnectionString(s.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "vers", nil); err != nil {
		t.Fatal(err)
	}
	bb := client.ServiceClient().NewContainerClient("vers").NewBlockBlobClient("b")
	tests := []struct {
		name    string
		setTo   *bool
		wantVer bool
	}{
		{"flag on", nil, true},
		{"control API off", ptr(false), false},
		{"control API on", ptr(true), true},
	}
	ctl := &control.Client{BaseURL: s.URL}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setTo != nil {
				st, err := ctl.SetVersioning(ctx, *tt.setTo)
				if err != nil || st.Enabled != *tt.setTo {
					t.Fatalf("set versioning: %+v, %v", st, err)
				}
			}
			if st, err := ctl.Versioning(ctx); err != nil || st.Enabled != tt.wantVer {
				t.Fatalf("versioning: %+v, %v", st, err)
			}
			r, err := bb.UploadBuffer(ctx, []byte("x"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if (r.VersionID != nil) != tt.wantVer {
				t.Fatalf("version id %v, want one: %v", r.VersionID, tt.wantVer)
			}
		})
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
