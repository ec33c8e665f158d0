package geoblob_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

// TestSecondaryBlipRiddenOut: during a primary outage the secondary fails
// one try; ErrBothUnavailable is retriable then, so the SDK's next try
// succeeds and the read does not fail.
func TestSecondaryBlipRiddenOut(t *testing.T) {
	clk := testenv.Clock()
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "d", []byte("x"))
	e.fault(t, outage(fault.Primary, 503))
	e.trip(t, "d")
	blip := outage(fault.Secondary, 503)
	blip.Limits.Count = 1
	e.fault(t, blip)
	if _, st, err := e.get(context.Background(), "d"); err != nil || st.Location != geoblob.Secondary {
		t.Fatalf("read in the blip: %+v, %v", st, err)
	}
	if c := e.router.Counters(); c.BothRetriable != 1 {
		t.Fatalf("counters %+v", c)
	}
}

// TestLongDoubleOutageEndsFast: in the first second of a double outage the
// SDK retries; afterwards the first try's ErrBothUnavailable is final.
// Either way the error is typed.
func TestLongDoubleOutageEndsFast(t *testing.T) {
	clk := testenv.Clock()
	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "d", []byte("x"))
	p := e.fault(t, outage(fault.Primary, 503))
	e.fault(t, outage(fault.Secondary, 503))
	check := func(wantTries int64) {
		t.Helper()
		before := e.fired(t, p)
		_, st, err := e.get(context.Background(), "d")
		var ge *geoblob.Error
		if !errors.Is(err, geoblob.ErrBothUnavailable) || !errors.As(err, &ge) || st.Served {
			t.Fatalf("err = %v, status %+v", err, st)
		}
		if tries := e.fired(t, p) - before; tries != wantTries {
			t.Fatalf("%d tries, want %d", tries, wantTries)
		}
	}
	check(3) // testenv.ClientOptions: three tries
	clk.Advance(2 * time.Second)
	check(1)
}

// TestDoubleOutageLogsBounded: reads failing on both locations log one
// WARN line per second, not one per read.
func TestDoubleOutageLogsBounded(t *testing.T) {
	var buf lockedBuffer
	cfg := geoblob.DefaultConfig()
	clk := testenv.Clock()
	cfg.Now = clk.Now
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	e := newEnv(t, emulator.Options{}, cfg)
	e.put(t, "d", []byte("x"))
	e.fault(t, outage(fault.Both, 503))
	for range 20 {
		if _, _, err := e.get(context.Background(), "d"); err == nil {
			t.Fatal("read succeeded during a double outage")
		}
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d WARN lines for 20 reads:\n%s", n, buf.String())
	}
	clk.Advance(2 * time.Second)
	if _, _, err := e.get(context.Background(), "d"); err == nil {
		t.Fatal("read succeeded during a double outage")
	}
	if s := buf.String(); strings.Count(s, "level=WARN") != 2 || !strings.Contains(s, "suppressed=") {
		t.Fatalf("second WARN missing or without the suppressed count:\n%s", s)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
