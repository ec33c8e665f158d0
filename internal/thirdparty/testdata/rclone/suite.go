// Package suite pins rclone's azureblob backend and the fstests harness its
// integration tests run on, so that `go test` of the backend package
// resolves every test dependency from this module's go.sum. The harness in
// internal/thirdparty runs those tests against an emulator.
package suite

import (
	_ "github.com/rclone/rclone/backend/azureblob"
	_ "github.com/rclone/rclone/fstest/fstests"
)
