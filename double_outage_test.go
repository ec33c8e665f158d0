package geoblob_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

func TestBothUnavailable(t *testing.T) {
	e := newEnv(t, emulator.Options{}, nil)
	e.put(t, "b.txt", []byte("x"))
	e.fault(t, outage(fault.Primary, 503))
	e.fault(t, outage(fault.Secondary, 500))
	_, _, err := e.get(context.Background(), "b.txt")
	if !errors.Is(err, geoblob.ErrBothUnavailable) {
		t.Fatalf("err = %v, want ErrBothUnavailable", err)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) || (re.StatusCode != 503 && re.StatusCode != 500) {
		t.Fatalf("want a wrapped ResponseError, got %v", err)
	}
	var ge *geoblob.Error
	if !errors.As(err, &ge) || ge.Primary == nil || ge.Secondary == nil {
		t.Fatalf("want both causes, got %#v", ge)
	}
}

// TestBothUnavailableWrapsEachCause: ErrBothUnavailable carries the cause of
// each location; errors.As reaches each one's *azcore.ResponseError.
func TestBothUnavailableWrapsEachCause(t *testing.T) {
	for _, tc := range []struct {
		primary, secondary int32 // -1 connection refused
	}{{503, 500}, {500, 503}, {-1, 503}, {503, -1}, {-1, -1}, {429, 504}} {
		t.Run(fmt.Sprint(tc.primary, "/", tc.secondary), func(t *testing.T) {
			f, c, _ := newFake(t, nil)
			f.status[geoblob.Primary].Store(tc.primary)
			f.status[geoblob.Secondary].Store(tc.secondary)
			_, err := read(c)
			var ge *geoblob.Error
			if !errors.Is(err, geoblob.ErrBothUnavailable) || !errors.As(err, &ge) {
				t.Fatalf("err = %v", err)
			}
			for _, side := range []struct {
				name string
				err  error
				want int32
			}{{"primary", ge.Primary, tc.primary}, {"secondary", ge.Secondary, tc.secondary}} {
				var re *azcore.ResponseError
				switch {
				case side.err == nil:
					t.Errorf("%s cause missing", side.name)
				case side.want < 0 && errors.As(side.err, &re):
					t.Errorf("%s: a transport error became %v", side.name, re)
				case side.want > 0 && (!errors.As(side.err, &re) || int32(re.StatusCode) != side.want):
					t.Errorf("%s cause %v, want a ResponseError %d", side.name, side.err, side.want)
				}
			}
			if strings.Contains(err.Error(), "sig=x") || strings.Contains(err.Error(), "SECRETSIG") {
				t.Errorf("error leaks the signature: %v", err)
			}
			if f.openBodies.Load() != 0 {
				t.Errorf("%d response bodies never closed", f.openBodies.Load())
			}
		})
	}
}

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
