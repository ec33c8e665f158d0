package opstable

import (
	"errors"
	"testing"
)

func table(rows ...string) []byte {
	s := "intro\n" + beginMarker + "\n| Operation | Request | Status | Test (package) | Calls |\n|---|---|---|---|---|\n"
	for _, r := range rows {
		s += r + "\n"
	}
	return []byte(s + endMarker + "\nafter\n")
}

func TestParseRows(t *testing.T) {
	rows, err := Parse(table(
		"| Put Blob From URL | `PUT /c/b` + `x-ms-blob-type: BlockBlob` + `x-ms-copy-source: SRC` | 501 | | |",
		"| Get Blob Service Stats | `GET /?restype=service&comp=stats` on the secondary | supported | `TestStats` (`emulator`) | `GetStatistics(` |",
	))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	r := rows[0]
	if r.Operation != "Put Blob From URL" || r.Method != "PUT" || r.Path != "/c/b" || r.Query != "" || r.Status != Refused501 ||
		len(r.Headers) != 2 || r.Headers[1] != (Header{"x-ms-copy-source", "SRC"}) || r.Test != "" || r.Secondary {
		t.Errorf("row 0 = %+v", r)
	}
	r = rows[1]
	if r.Path != "/" || r.Query != "restype=service&comp=stats" || !r.Secondary || r.Status != Supported ||
		r.Test != "TestStats" || r.Package != "emulator" || r.Calls != "GetStatistics(" {
		t.Errorf("row 1 = %+v", r)
	}
}

func TestParseRefusesMalformedTables(t *testing.T) {
	for _, tc := range []struct {
		name   string
		readme []byte
	}{
		{"no markers", []byte("| a | b |\n")},
		{"no rows", table()},
		{"unknown status", table("| Op | `GET /c/b` | maybe | | |")},
		{"too few cells", table("| Op | `GET /c/b` | 501 |")},
		{"bad method", table("| Op | `FETCH /c/b` | 501 | | |")},
		{"bad path", table("| Op | `GET /c/b/x` | 501 | | |")},
		{"bad header", table("| Op | `GET /c/b` + `x-ms-thing` | 501 | | |")},
		{"bad test cell", table("| Op | `GET /c/b` | supported | `Blocks` | `x` |")},
		{"no operation", table("| | `GET /c/b` | 501 | | |")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.readme); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error = %v, want ErrMalformed", err)
			}
		})
	}
}
