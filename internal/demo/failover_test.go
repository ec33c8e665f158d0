package demo

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRunFailover runs the failover scenario: no read fails, the lost
// writes are exactly the three made while replication was paused, reads
// after the promotion are served by the new primary, and the account ends
// geo-redundant again.
func TestRunFailover(t *testing.T) {
	cfg := fastConfig(t)
	cfg.Reads = 120
	cfg.Bootstrap = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sum, err := RunFailover(ctx, cfg)
	out := cfg.Stdout.(*bytes.Buffer).String()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.Failed != 0 || sum.Reads != 120 {
		t.Fatalf("summary %v\n%s", sum, out)
	}
	lost := regexp.MustCompile(`lost put-blob democontainer\w+/orders/(\d+)\.json \(ETag "0x[0-9A-F]+", (\d+) bytes\)`).FindAllStringSubmatch(out, -1)
	if len(lost) != lostOrders || lost[0][1] != "1001" || lost[2][1] != "1003" {
		t.Fatalf("lost writes listed: %v\n%s", lost, out)
	}
	for _, want := range []string{"Lost 3 writes", "Checked: the lost writes are gone", "geo-redundancy enabled again", "The new secondary is live", "The account is RA-GRS again"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	// Reads in the outage go to the secondary; from the promotion on the
	// primary serves them all.
	for i, loc := range sum.Locations {
		if i >= cfg.Reads/2 && loc != 'P' {
			t.Errorf("read %d after the failover: %c, want P", i, loc)
		}
		if i < cfg.Reads/3 && loc != 'P' {
			t.Errorf("read %d before the outage: %c, want P", i, loc)
		}
	}
	if sum.Secondary == 0 {
		t.Errorf("no read was served by the secondary during the outage\n%s", out)
	}
}

func TestRunFailoverRefusesARealAccount(t *testing.T) {
	cfg := fastConfig(t)
	cfg.ConnectionString = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=eA==;EndpointSuffix=core.windows.net"
	if _, err := RunFailover(context.Background(), cfg); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("%v, want ErrBadConfig", err)
	}
}
