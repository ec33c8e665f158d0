package geoblob

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseConnectionString(t *testing.T) {
	f, err := os.Open("testdata/connstrings.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		fields := strings.Split(line, " | ")
		if len(fields) != 5 {
			t.Fatalf("bad fixture line %q", line)
		}
		in, account, primary, secondary, wantErr := fields[0], fields[1], fields[2], fields[3], fields[4]
		t.Run(in, func(t *testing.T) {
			cs, err := ParseConnectionString(in)
			if wantErr != "-" {
				if err == nil || !strings.Contains(err.Error(), wantErr) || !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want %q", err, wantErr)
				}
				if strings.Contains(err.Error(), "a2V5") {
					t.Fatal("error quotes the key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if secondary == "-" {
				secondary = ""
			}
			if cs.AccountName != account || cs.PrimaryURL != primary || cs.SecondaryURL != secondary {
				t.Fatalf("got %+v", cs)
			}
			if s := cs.String(); strings.Contains(s, "a2V5") || strings.Contains(s, "sig=abc") || strings.Contains(s, DevAccountKey) {
				t.Fatalf("String leaks a secret: %s", s)
			}
		})
	}
	if n == 0 {
		t.Fatal("no fixtures")
	}
}
