package blobapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzBatch sends hostile Blob Batch bodies: the answer is 202 with a
// well-formed multipart body of HTTP responses, or a 400 or 413 refusal;
// never a panic nor a 500, neither for the batch nor for a sub-request.
func FuzzBatch(f *testing.F) {
	fs := newFuzzServer(f)
	acct := "/devstoreaccount1"
	part := func(id, line, headers string) string {
		return "--batch_f\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: " + id + "\r\n\r\n" +
			line + " HTTP/1.1\r\n" + headers + "\r\n"
	}
	end := "--batch_f--\r\n"
	q := "?" + fs.sas
	for _, s := range []struct {
		body      string
		container bool
	}{
		{part("0", "DELETE "+acct+"/ctr/b"+q, "x-ms-date: Thu, 14 Jun 2018 16:46:54 GMT\r\n") + end, false},
		{part("0", "DELETE "+acct+"/ctr/missing"+q, "") + part("1", "DELETE "+acct+"/ctr/b"+q, "x-ms-delete-snapshots: only\r\n") + end, true},
		{part("0", "PUT "+acct+"/ctr/b?comp=tier&"+fs.sas, "x-ms-access-tier: Cool\r\n") + end, false},
		{part("0", "PUT "+acct+"/ctr/b?comp=tier&"+fs.sas, "x-ms-access-tier: Cool\r\n") + part("1", "DELETE "+acct+"/ctr/b"+q, "") + end, false},
		{part("0", "DELETE "+acct+"/ctr/b", "Authorization: SharedKey devstoreaccount1:AAAA\r\n") + end, false},
		{part("0", "DELETE "+acct+"/other/b"+q, "") + end, true},
		{part("x", "DELETE http://h"+acct+"/ctr/b"+q, "Content-Length: 5\r\n") + "hello" + end, false},
		{"--batch_f\r\nContent-Type: application/http\r\n\r\n\r\n--batch_f--", false},
		{"--batch_f\r\n" + strings.Repeat("X-A: b\r\n", 100) + "\r\n" + end, false},
		{"", false},
	} {
		f.Add([]byte(s.body), s.container)
	}
	f.Fuzz(func(t *testing.T, body []byte, container bool) {
		path := acct + "/"
		query := "comp=batch&" + fs.sas
		if container {
			path, query = acct+"/ctr", "restype=container&"+query
		}
		r := httptest.NewRequest(http.MethodPost, path+"?"+query, bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/mixed; boundary=batch_f")
		w := httptest.NewRecorder()
		fs.s.ServeHTTP(w, r)
		checkAnswer(t, r, w)
		res := w.Result()
		switch res.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return
		case http.StatusAccepted:
		default:
			t.Fatalf("batch answered %d: %s", res.StatusCode, w.Body.Bytes())
		}
		_, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(bytes.NewReader(w.Body.Bytes()), params["boundary"])
		n := 0
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("malformed batch response: %v", err)
			}
			raw, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			sr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(append(raw, "\r\n"...))), nil)
			if err != nil {
				t.Fatalf("malformed sub-response %q: %v", raw, err)
			}
			// 501 NotImplemented is the emulator's answer for what it
			// does not model, as for a single request.
			if sr.StatusCode >= 500 && !(sr.StatusCode == http.StatusNotImplemented && sr.Header.Get("x-ms-error-code") == "NotImplemented") {
				t.Fatalf("sub-response %d: %q", sr.StatusCode, raw)
			}
			n++
		}
		if n == 0 || n > MaxBatchSubRequests {
			t.Fatalf("%d sub-responses", n)
		}
	})
}
