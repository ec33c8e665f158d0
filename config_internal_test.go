package geoblob

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want []error // nil: valid
	}{
		{"default", func(*Config) {}, nil},
		{"zero value", func(c *Config) { *c = Config{} }, nil},
		{"threshold disabled, ratio on", func(c *Config) { c.FailureThreshold, c.FailureRatio = -1, 0.5 }, nil},
		{"never trips", func(c *Config) { c.FailureThreshold = -1 }, []error{ErrInvalidConfig, ErrNeverTrips}},
		{"slow calls alone cannot trip", func(c *Config) { c.FailureThreshold, c.SlowCallThreshold = -1, time.Second }, []error{ErrInvalidConfig, ErrNeverTrips}},
		{"ratio above 1", func(c *Config) { c.FailureRatio = 1.5 }, []error{ErrInvalidConfig}},
		{"count failback off, background probe on", func(c *Config) { c.FailbackReads = -1 }, nil},
		{"never fails back", func(c *Config) { c.FailbackReads, c.ProbeInterval = -1, -1 }, []error{ErrInvalidConfig, ErrNeverFailsBack}},
		{"time failback", func(c *Config) { c.FailbackReads, c.ProbeInterval, c.FailbackAfter = -1, -1, time.Second }, nil},
		{"backoff below 1", func(c *Config) { c.ProbeBackoff = 0.5 }, []error{ErrInvalidConfig}},
		{"negative probes", func(c *Config) { c.ProbeSuccesses = -1 }, []error{ErrInvalidConfig}},
		{"max probes below probes", func(c *Config) { c.ProbeSuccesses, c.MaxProbeSuccesses = 4, 2 }, []error{ErrInvalidConfig}},
		{"bad mode", func(c *Config) { c.Mode = 7 }, []error{ErrInvalidConfig}},
		{"bad budget", func(c *Config) { c.Hedge.Budget = 2 }, []error{ErrInvalidConfig}},
		{"negative staleness", func(c *Config) { c.MaxStaleness = -1 }, []error{ErrInvalidConfig}},
		{"negative window", func(c *Config) { c.Window = -1 }, []error{ErrInvalidConfig}},
		{"secondary tracking off", func(c *Config) { c.SecondaryFailureThreshold, c.SecondaryRecheck = -1, -1 }, nil},
	} {
		c := DefaultConfig()
		tc.mod(c)
		err := c.Validate()
		if (err == nil) != (tc.want == nil) {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !errors.Is(err, w) {
				t.Errorf("%s: Validate() = %v, want it to wrap %v", tc.name, err, w)
			}
		}
	}
}

// TestZeroConfigIsDefault: every zero field of a Config resolves to
// DefaultConfig's value, and negative values stay (disabled).
func TestZeroConfigIsDefault(t *testing.T) {
	got, want := Config{}.resolved(), DefaultConfig().resolved()
	got.Logger, want.Logger, got.Now, want.Now = nil, nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Config{} resolves to\n%+v\nDefaultConfig() to\n%+v", got, want)
	}
	off := Config{FailureThreshold: -1, FailbackReads: -1, ProbeInterval: -1, AttemptTimeout: -1, SecondaryFailureThreshold: -1, SecondaryRecheck: -1}.resolved()
	if off.FailureThreshold != -1 || off.FailbackReads != -1 || off.ProbeInterval != -1 || off.AttemptTimeout != -1 || off.SecondaryFailureThreshold != -1 || off.SecondaryRecheck != -1 {
		t.Fatalf("negative values changed: %+v", off)
	}
	// The ratio rule with the default MinThroughput does not trip on the
	// first failure.
	r, err := NewRouter("https://a.blob.core.windows.net", &Config{FailureThreshold: -1, FailureRatio: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if tr := r.br.Failure(time.Now(), ""); tr != nil {
		t.Fatalf("ratio rule tripped on the first failure: %+v", tr)
	}
}
