package geoblob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// bodyReset cuts the body of primary reads after n bytes, count times (0:
// always).
func bodyReset(n, count int64) fault.Rule {
	return fault.Rule{
		Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read, Container: testContainer},
		Action: fault.Action{ResetAfterBytes: &n}, Limits: fault.Limits{Count: count},
	}
}

// readResuming downloads a blob as azblob's users do: DownloadStream and
// its retry reader, which resumes a broken body with If-Match.
func (e *env) readResuming(ctx context.Context, name string, info *geoblob.ReadInfo) ([]byte, error) {
	ctx = geoblob.WithReadInfo(ctx, info)
	resp, err := e.client.DownloadStream(ctx, testContainer, name, nil)
	if err != nil {
		return nil, err
	}
	body := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 3})
	defer body.Close()
	return io.ReadAll(body)
}

// TestBrokenBodyResumesOnOtherLocation: a primary body cut mid-way counts
// as a body failure, and the retry reader's resumption is served by the
// secondary, not the primary that just broke.
func TestBrokenBodyResumesOnOtherLocation(t *testing.T) {
	e := newEnv(t, emulator.Options{}, nil)
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	e.put(t, "b", data)
	e.fault(t, bodyReset(1000, 1))
	var info geoblob.ReadInfo
	got, err := e.readResuming(context.Background(), "b", &info)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if p, s := info.Reads(); p != 1 || s != 1 {
		t.Fatalf("reads primary %d secondary %d, want the resumption on the secondary", p, s)
	}
	if c := e.router.Counters(); c.BodyFailures != 1 || c.Steered != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// TestBrokenBodiesTripBreaker: a primary that resets every body after the
// headers trips the breaker, and no read fails meanwhile.
func TestBrokenBodiesTripBreaker(t *testing.T) {
	e := newEnv(t, emulator.Options{}, nil)
	data := bytes.Repeat([]byte("x"), 32<<10)
	e.put(t, "b", data)
	e.fault(t, bodyReset(0, 0))
	for i := range 6 {
		var info geoblob.ReadInfo
		got, err := e.readResuming(context.Background(), "b", &info)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d: %d bytes, %v", i, len(got), err)
		}
	}
	if s := e.router.State(); s != geoblob.Open {
		t.Fatalf("state %v after broken bodies, want open", s)
	}
	if c := e.router.Counters(); c.BodyFailures != 5 {
		t.Fatalf("counters %+v", c)
	}
}

// TestCancelledBodyIsNeutral: the caller giving up mid-body says nothing
// about the location.
func TestCancelledBodyIsNeutral(t *testing.T) {
	e := newEnv(t, emulator.Options{}, nil)
	e.put(t, "b", bytes.Repeat([]byte("x"), 1<<20))
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := e.client.DownloadStream(ctx, testContainer, "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if c := e.router.Counters(); c.BodyFailures != 0 {
		t.Fatalf("counters %+v", c)
	}
}
