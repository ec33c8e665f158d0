// Package thirdparty runs real third-party clients' own test suites
// against a Blob service (the geoblob emulator, or Azurite for comparison)
// and checks their per-case outcomes against checked-in expectations.
//
// Each suite is pinned by a Go module of its own under testdata/ (so the
// main module does not take on rclone's or the Distribution registry's
// dependencies); the harness runs `go test -json` on the third-party
// package there, with the environment that points it at the target, and
// parses the events. testdata/expect/SUITE.TARGET.txt lists the cases
// known to fail, each with the operation it needs. A run passes only when
// exactly those cases fail: a new failure is a regression, and a listed
// case that passes must come off the list, so the list stays honest.
//
// The runs themselves are behind the build tag thirdparty:
//
//	go test -race -v -tags thirdparty -run TestThirdParty -timeout 60m ./internal/thirdparty
//
// followed by -thirdparty.target=azurite to run against Azurite instead, and
// -thirdparty.update to rewrite the expectation files from the run.
package thirdparty
