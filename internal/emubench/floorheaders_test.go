package emubench_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/internal/emubench"
)

// headerRecorder keeps the response headers of every request it sends.
type headerRecorder struct {
	next http.RoundTripper
	got  map[string]http.Header // method -> headers of its last answer
}

func (h *headerRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(req)
	if err == nil {
		h.got[req.Method] = resp.Header.Clone()
	}
	return resp, err
}

// answerHeaders sends the bench's 4 KiB Put Blob and Get Blob to the
// account at base through azblob and returns the answers' headers.
func answerHeaders(t *testing.T, base string) (put, get http.Header) {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(emulator.DevAccountName, emulator.DevAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	rec := &headerRecorder{next: http.DefaultTransport, got: map[string]http.Header{}}
	c, err := azblob.NewClientWithSharedKeyCredential(base+"/", cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: -1}, Transport: rec,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.CreateContainer(ctx, "bench", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UploadBuffer(ctx, "bench", "small-1", emubench.Payload(4<<10), nil); err != nil {
		t.Fatal(err)
	}
	put = rec.got[http.MethodPut]
	r, err := c.DownloadStream(ctx, "bench", "small-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil || !bytes.Equal(b, emubench.Payload(4<<10)) {
		t.Fatalf("download: %d bytes, %v", len(b), err)
	}
	return put, rec.got[http.MethodGet]
}

// shape is a header set as names with the lengths of their values.
func shape(h http.Header) []string {
	var out []string
	for k, vs := range h {
		out = append(out, k+":"+strings.Repeat("x", len(strings.Join(vs, ","))))
	}
	slices.Sort(out)
	return out
}

// TestFloorAnswersWithTheEmulatorsHeaders keeps the floor honest: for the
// bench's small Put Blob and Get Blob it must write the same header names,
// with values of the same lengths, as the emulator, so that the two differ
// only by the work the emulator does.
func TestFloorAnswersWithTheEmulatorsHeaders(t *testing.T) {
	emu, err := emulator.Start(context.Background(), emulator.Options{
		NoSecondaryListener: true,
		Lag:                 time.Second,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	floor := httptest.NewServer(emubench.FloorHandler(4<<10, 1<<10))
	t.Cleanup(floor.Close)

	emuPut, emuGet := answerHeaders(t, strings.TrimSuffix(emu.PrimaryURL(), "/"))
	floorPut, floorGet := answerHeaders(t, floor.URL+"/"+emulator.DevAccountName)
	for _, tc := range []struct {
		name       string
		emu, floor http.Header
	}{{"put", emuPut, floorPut}, {"get", emuGet, floorGet}} {
		if got, want := shape(tc.floor), shape(tc.emu); !slices.Equal(got, want) {
			t.Errorf("%s: floor headers\n%v\nemulator headers\n%v", tc.name, got, want)
		}
	}
}
