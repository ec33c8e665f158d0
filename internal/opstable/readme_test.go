package opstable

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/emulator"
)

// moduleRoot is the repository root, relative to this package.
const moduleRoot = "../.."

func readmeRows(t *testing.T) []Row {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestREADMESupportedOperationsHaveTests checks that every supported row
// names a test function that exists in the named package and contains the
// row's call, and that no other row names one.
func TestREADMESupportedOperationsHaveTests(t *testing.T) {
	rows := readmeRows(t)
	seen := map[string]bool{}
	sources := map[string]map[string]string{} // dir -> test name -> source
	for _, r := range rows {
		if seen[r.Operation] {
			t.Errorf("%s: listed twice", r.Operation)
		}
		seen[r.Operation] = true
		if r.Status != Supported {
			if r.Test != "" || r.Calls != "" {
				t.Errorf("%s: status %s but names test %s calling %q; only supported rows name a test", r.Operation, r.Status, r.Test, r.Calls)
			}
			continue
		}
		if r.Test == "" || r.Calls == "" {
			t.Errorf("%s: supported but names no test and call", r.Operation)
			continue
		}
		if sources[r.Package] == nil {
			src, err := testFunctions(filepath.Join(moduleRoot, filepath.FromSlash(r.Package)))
			if err != nil {
				t.Fatalf("%s: %v", r.Operation, err)
			}
			sources[r.Package] = src
		}
		body, ok := sources[r.Package][r.Test]
		switch {
		case !ok:
			t.Errorf("%s: test %s not found in %s", r.Operation, r.Test, r.Package)
		case !strings.Contains(body, r.Calls):
			t.Errorf("%s: test %s (%s) does not contain %q", r.Operation, r.Test, r.Package, r.Calls)
		}
	}
}

// testFunctions returns the source of each top-level Test function in the
// _test.go files of dir.
func testFunctions(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no test files in %s", dir)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		file, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Body == nil {
				continue
			}
			out[fn.Name.Name] = string(src[fset.Position(fn.Body.Pos()).Offset:fset.Position(fn.Body.End()).Offset])
		}
	}
	return out, nil
}

// TestREADMEStatusesMatchEmulator sends each row's request to an emulator
// and checks the answer matches the row's status: 501 NotImplemented for
// 501 rows, the router's refusals for 400 rows (InvalidQueryParameterValue)
// and 405 rows (UnsupportedHttpVerb), and none of these for supported
// rows (which may still answer 4xx, for a missing header, say: the check
// is that the operation is routed and implemented).
func TestREADMEStatusesMatchEmulator(t *testing.T) {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{NoSecondaryListener: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL()+"/", cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	sasQuery, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour),
		Permissions:   (&sas.AccountPermissions{Read: true, Write: true, Delete: true, List: true, Add: true, Create: true, Update: true, Process: true, Tag: true, FilterByTags: true, DeletePreviousVersion: true, PermanentDelete: true, SetImmutabilityPolicy: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	signed := sasQuery.Encode()
	// A source blob for the rows that copy.
	if _, err := client.CreateContainer(ctx, "src", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "src", "s", []byte("source"), nil); err != nil {
		t.Fatal(err)
	}
	src := emu.PrimaryURL() + "/src/s?" + signed
	hc := &http.Client{Timeout: 30 * time.Second}

	for i, r := range readmeRows(t) {
		if r.Status == NotApplies {
			continue
		}
		t.Run(r.Operation, func(t *testing.T) {
			// Each row gets its own container and blob, so a delete in
			// one row cannot change another's answer.
			ctr := fmt.Sprintf("ops%d", i)
			if _, err := client.CreateContainer(ctx, ctr, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := client.UploadBuffer(ctx, ctr, "b", []byte("blob"), nil); err != nil {
				t.Fatal(err)
			}
			base := emu.PrimaryURL()
			if r.Secondary {
				base = emu.ServiceURL(emulator.SecondaryPathStyle, "")
			}
			path := strings.Replace(r.Path, "/c", "/"+ctr, 1)
			if path == "/" {
				path = ""
			}
			u := base + path + "?" + signed
			if r.Query != "" {
				u += "&" + r.Query
			}
			req, err := http.NewRequestWithContext(ctx, r.Method, u, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("x-ms-version", "2025-01-05")
			for _, h := range r.Headers {
				req.Header.Set(h.Name, strings.ReplaceAll(h.Value, "SRC", src))
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			code := resp.Header.Get("x-ms-error-code")
			var got string
			switch {
			case resp.StatusCode == http.StatusNotImplemented && code == "NotImplemented":
				got = Refused501
			case resp.StatusCode == http.StatusBadRequest && code == "InvalidQueryParameterValue":
				got = Refused400
			case resp.StatusCode == http.StatusMethodNotAllowed && code == "UnsupportedHttpVerb":
				got = Refused405
			default:
				got = Supported
			}
			if got != r.Status {
				t.Errorf("%s %s?%s: answered %d %s, which is %q; the README says %q: update the row", r.Method, r.Path, r.Query, resp.StatusCode, code, got, r.Status)
			}
		})
	}
}
