package failoverbench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tinyConfig is every scenario with outages short enough for a unit test.
// Only properties that hold whatever the machine's speed are asserted on
// its results; the timing targets are the bench's business.
func tinyConfig() Config {
	c := QuickConfig()
	c.Readers = 4
	c.Warmup = 50 * time.Millisecond
	c.Outage = 150 * time.Millisecond
	c.LongOutage = 200 * time.Millisecond
	c.Recovery = 150 * time.Millisecond
	c.AfterWindow = 100 * time.Millisecond
	c.SlowLatency = 100 * time.Millisecond
	c.Blip = 30 * time.Millisecond
	c.ReadTimeout = 10 * time.Second
	c.RetryDelay = 10 * time.Millisecond
	c.SmallSize, c.LargeSize, c.BlockSize = 4<<10, 256<<10, 64<<10
	c.Blobs, c.LargeBlobs = 4, 2
	return c
}

// TestRunEveryScenario runs the quick subset CI runs: every scenario and
// client, then checks the report and the files written from it.
func TestRunEveryScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, tinyConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]Result{}
	for _, r := range rep.Results {
		rows[key(r.Scenario, r.Client)] = r
	}
	for _, sc := range AllScenarios() {
		for _, cl := range AllClients {
			r, ok := rows[key(sc, cl)]
			switch {
			case !ok:
				t.Errorf("%s/%s: missing from the report", sc, cl)
			case r.Reads == 0:
				t.Errorf("%s/%s: no reads", sc, cl)
			case r.Wrong != 0:
				t.Errorf("%s/%s: %d reads returned wrong bytes", sc, cl, r.Wrong)
			case cl == ClientGeoblob && (r.Verdict != "PASS" && r.Verdict != "FAIL"):
				t.Errorf("%s/%s: verdict %q, want PASS or FAIL", sc, cl, r.Verdict)
			case cl == ClientGeoblob && r.Transitions == nil:
				t.Errorf("%s/%s: no transition count", sc, cl)
			}
		}
	}
	if len(rep.Results) != len(AllScenarios())*len(AllClients) {
		t.Errorf("%d rows, want %d", len(rep.Results), len(AllScenarios())*len(AllClients))
	}
	for _, r := range rep.Reads {
		if r.OK && r.Served == "none" {
			t.Errorf("read %+v succeeded with no wire read serving it", r)
			break
		}
	}

	dir := t.TempDir()
	if err := WriteFiles(dir, rep); err != nil {
		t.Fatal(err)
	}
	table := readFile(t, dir, TableFile)
	for _, sc := range AllScenarios() {
		if !strings.Contains(table, sc) {
			t.Errorf("the table lacks scenario %s", sc)
		}
	}
	var back Report
	if err := json.Unmarshal([]byte(readFile(t, dir, JSONFile)), &back); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if len(back.Results) != len(rep.Results) || len(back.Timelines) != len(rep.Results) {
		t.Errorf("results.json holds %d results and %d timelines, want %d", len(back.Results), len(back.Timelines), len(rep.Results))
	}
	recs, err := csv.NewReader(strings.NewReader(readFile(t, dir, CSVFile))).ReadAll()
	if err != nil {
		t.Fatalf("reads.csv: %v", err)
	}
	if len(recs) != len(rep.Reads)+1 || strings.Join(recs[0], ",") != strings.Join(CSVHeader, ",") {
		t.Errorf("reads.csv: %d rows (want %d) and header %v", len(recs), len(rep.Reads)+1, recs[0])
	}
	for _, sc := range AllScenarios() {
		checkSVG(t, readFile(t, dir, SVGFile(sc)))
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkSVG: well-formed XML with an svg root and at least one dot.
func checkSVG(t *testing.T, doc string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	var root string
	circles := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "circle" {
				circles++
			}
		}
	}
	if root != "svg" || circles < 2 {
		t.Errorf("svg root %q with %d circles", root, circles)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"no readers", func(c *Config) { c.Readers = 0 }},
		{"no outage", func(c *Config) { c.Outage = 0 }},
		{"window beyond recovery", func(c *Config) { c.AfterWindow = c.Recovery + time.Second }},
		{"unknown scenario", func(c *Config) { c.Scenarios = []string{"earthquake"} }},
		{"unknown client", func(c *Config) { c.Clients = []string{"curl"} }},
		{"no blobs", func(c *Config) { c.Blobs = 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			if _, err := Run(context.Background(), c, nil); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Run = %v, want ErrInvalidConfig", err)
			}
		})
	}
	for _, c := range []Config{DefaultConfig(), QuickConfig(), tinyConfig()} {
		if err := c.validate(); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// TestWriteTableMarksFailures: a row that misses a target says which.
func TestWriteTableMarksFailures(t *testing.T) {
	rep := &Report{Config: DefaultConfig(), Results: []Result{{
		Scenario: Scenario503, Client: ClientGeoblob, Reads: 10, Verdict: "FAIL",
		Checks: []Check{{Target: "first secondary read <= 100ms", Got: "250ms"}},
	}}}
	var b bytes.Buffer
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "503/geoblob: first secondary read <= 100ms (250ms)") {
		t.Errorf("table:\n%s", b.String())
	}
}
