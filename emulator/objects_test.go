package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/emulator"
)

// TestObjects seeds blobs without an SDK and inspects both copies: a seeded
// blob is on the primary at once and on the secondary only after the lag,
// like any other write.
func TestObjects(t *testing.T) {
	clk := emulator.NewManualClock(time.Now().Truncate(time.Second))
	emu := start(t, emulator.Options{Lag: 30 * time.Second, Clock: clk})
	seed := []emulator.Object{
		{Container: "seed", Name: "a/1.txt", Data: []byte("one"), ContentType: "text/plain", Metadata: map[string]string{"k": "v"}},
		{Container: "seed", Name: "a/2.txt", Data: []byte("two")},
		{Container: "seed", Name: "b.txt", Data: []byte("three")},
	}
	for _, o := range seed {
		got, err := emu.CreateObject(o)
		if err != nil {
			t.Fatal(err)
		}
		if got.ETag == "" || got.LastModified.IsZero() || got.Account != emulator.DevAccountName {
			t.Fatalf("CreateObject returned %+v", got)
		}
	}
	got, err := emu.GetObject(emulator.Primary, "", "seed", "a/1.txt")
	if err != nil || string(got.Data) != "one" || got.ContentType != "text/plain" || got.Metadata["k"] != "v" {
		t.Fatalf("primary: %+v %v", got, err)
	}
	if _, err := emu.GetObject(emulator.Secondary, "", "seed", "a/1.txt"); !errors.Is(err, emulator.ErrObjectNotFound) {
		t.Fatalf("secondary before the lag: %v", err)
	}
	list, err := emu.ListObjects(emulator.Primary, "", "seed", "a/", 0)
	if err != nil || len(list) != 2 || list[0].Name != "a/1.txt" || string(list[1].Data) != "two" {
		t.Fatalf("list a/: %+v %v", list, err)
	}
	if list, err := emu.ListObjects(emulator.Primary, "", "seed", "", 1); err != nil || len(list) != 1 {
		t.Fatalf("list with limit 1: %d %v", len(list), err)
	}
	clk.Advance(31 * time.Second)
	waitReplicated(t, emu)
	for _, loc := range []emulator.Location{emulator.Secondary, emulator.SecondaryPathStyle} {
		list, err := emu.ListObjects(loc, "", "seed", "", 0)
		if err != nil || len(list) != 3 {
			t.Fatalf("%v after the lag: %+v %v", loc, list, err)
		}
	}
	// Through HTTP too: the SDK sees the seeded blob.
	prim, _ := clients(t, emu, emu.SecondaryURL())
	if b, err := download(context.Background(), prim, "seed", "b.txt"); err != nil || b != "three" {
		t.Fatalf("SDK read of a seeded blob: %q %v", b, err)
	}
	if _, err := emu.GetObject(emulator.Primary, "nosuchaccount", "seed", "b.txt"); err == nil {
		t.Error("unknown account accepted")
	}
	if _, err := emu.ListObjects(emulator.Primary, "", "nosuchcontainer", "", 0); !errors.Is(err, emulator.ErrObjectNotFound) {
		t.Errorf("missing container: %v", err)
	}
}

// Seed a blob without an SDK, then look at the primary and, once
// replication has caught up, at the secondary. A manual clock makes the lag
// pass on demand.
func ExampleEmulator_CreateObject() {
	clk := emulator.NewManualClock(time.Now())
	emu, err := emulator.Start(context.Background(), emulator.Options{Lag: time.Minute, Clock: clk})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	if _, err := emu.CreateObject(emulator.Object{Container: "photos", Name: "cat.txt", Data: []byte("meow")}); err != nil {
		log.Fatal(err)
	}
	_, err = emu.GetObject(emulator.Secondary, "", "photos", "cat.txt")
	fmt.Println("on the secondary at once:", err == nil)
	clk.Advance(time.Minute)
	if err := emu.Replication().Wait(context.Background()); err != nil {
		log.Fatal(err)
	}
	o, err := emu.GetObject(emulator.Secondary, "", "photos", "cat.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after replication:", string(o.Data))
	// Output:
	// on the secondary at once: false
	// after replication: meow
}

// TestCreateObjectChecksLikeARequest: CreateObject refuses what a Put Blob
// request could not create, and stores a `\` in a name as `/`, so every
// seeded blob can be read back over HTTP as it was given.
func TestCreateObjectChecksLikeARequest(t *testing.T) {
	emu := start(t, emulator.Options{})
	bad := []emulator.Object{
		{Container: "Bad_Name", Name: "x"},
		{Container: "ok-container", Name: ""},
		{Container: "ok-container", Name: strings.Repeat("a", 1025)},
		{Container: "ok-container", Name: "m", Metadata: map[string]string{"my-key": "v"}},
		{Container: "ok-container", Name: "m", Metadata: map[string]string{"k": "a\nb"}},
		{Container: "ok-container", Name: "m", Metadata: map[string]string{"k": "caf\u00e9"}},
		{Container: "ok-container", Name: "m", Metadata: map[string]string{"k": "v", "K": "w"}},
		{Container: "ok-container", Name: "m", Metadata: map[string]string{"k": strings.Repeat("v", 9000)}},
	}
	for _, o := range bad {
		if _, err := emu.CreateObject(o); !errors.Is(err, emulator.ErrInvalidObject) {
			t.Errorf("CreateObject(%q/%.20q, %d metadata): %v, want ErrInvalidObject", o.Container, o.Name, len(o.Metadata), err)
		}
	}
	got, err := emu.CreateObject(emulator.Object{Container: "ok-container", Name: `dir\file`, Data: []byte("data"), Metadata: map[string]string{"Key": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "dir/file" || got.Metadata["key"] != "v" {
		t.Fatalf("stored as %q with metadata %v", got.Name, got.Metadata)
	}
	prim, _ := clients(t, emu, emu.SecondaryURL())
	if b, err := download(context.Background(), prim, "ok-container", "dir/file"); err != nil || b != "data" {
		t.Fatalf("SDK read of dir/file: %q %v", b, err)
	}
	if o, err := emu.GetObject(emulator.Primary, "", "ok-container", `dir\file`); err != nil || string(o.Data) != "data" {
		t.Fatalf("GetObject with a backslash: %+v %v", o, err)
	}
}
