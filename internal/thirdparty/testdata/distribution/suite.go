// Package suite pins the CNCF Distribution registry's Azure storage driver
// and its storage driver test suite, so that `go test` of the driver
// package resolves every test dependency from this module's go.sum. The
// harness in internal/thirdparty runs those tests against an emulator.
package suite

import (
	_ "github.com/distribution/distribution/v3/registry/storage/driver/azure"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/testsuites"
)
