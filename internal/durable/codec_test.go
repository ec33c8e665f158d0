package durable

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

var (
	contentType = reflect.TypeFor[store.Content]()
	timeType    = reflect.TypeFor[time.Time]()
)

// fill sets every field reachable from v to a non-zero value, and fails
// the test on a field it cannot set (unexported, or of a kind JSON cannot
// carry): such a field would not be persisted.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch {
	case v.Type() == contentType:
		v.Set(reflect.ValueOf(store.Bytes([]byte("content of " + path))))
		return
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Date(2026, 12, 1, 23, 59, 58, 123456789, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s:" + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(9)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), path)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), path+"[]")
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(t, k, path+"{key}")
		e := reflect.New(v.Type().Elem()).Elem()
		fill(t, e, path+"{}")
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				t.Errorf("%s.%s is unexported: records are encoded from exported fields, so it would not be persisted", path, f.Name)
				continue
			}
			fill(t, v.Field(i), path+"."+f.Name)
		}
	default:
		t.Errorf("%s: a %s cannot be persisted", path, v.Kind())
	}
}

// TestRecordsRoundTripEveryField fills every field of the records the data
// directory keeps (Blob, Container, Change, and what they hold), encodes
// and decodes them as the journal and the loader do, and requires every
// field back. A field added to these types that does not survive fails
// here.
func TestRecordsRoundTripEveryField(t *testing.T) {
	files, err := store.OpenFiles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{&store.Blob{}, &store.Container{}, &store.Change{}, &stagedRecord{}} {
		rv := reflect.ValueOf(v).Elem()
		t.Run(rv.Type().Name(), func(t *testing.T) {
			fill(t, rv, rv.Type().Name())
			data, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			back := reflect.New(rv.Type())
			if err := files.Decode(data, back.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Elem().Interface(), rv.Interface()) {
				t.Fatalf("round trip lost something:\nwrote %+v\nread  %+v", rv.Interface(), back.Elem().Interface())
			}
		})
	}
}

// TestContentOnDiskRoundTrip: content in files encodes as extents (never
// its bytes) and decodes to the same bytes, slices included.
func TestContentOnDiskRoundTrip(t *testing.T) {
	files, err := store.OpenFiles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := files.Bytes([]byte("hello, "))
	if err != nil {
		t.Fatal(err)
	}
	b, err := files.ReadContent(strings.NewReader("wide world"), -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Concat(a, b.Slice(0, 5), store.Bytes([]byte("!")))
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("hello")) {
		t.Fatalf("content on disk encoded with its bytes: %s", data)
	}
	var back store.Content
	if err := files.Decode(data, &back); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := back.WriteTo(&buf); err != nil || buf.String() != "hello, wide !" || back.Size() != 13 {
		t.Fatalf("decoded %q (%d) %v", buf.String(), back.Size(), err)
	}
	r := back.Reader(3, 6)
	got := make([]byte, 6)
	n := 0
	for n < 6 {
		m, err := r.Read(got[n:])
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	if string(got) != "lo, wi" {
		t.Fatalf("Reader: %q", got)
	}
	if err := json.Unmarshal(data, &back); err == nil {
		t.Fatal("content on disk decoded without its Files")
	}
}
