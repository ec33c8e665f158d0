// Package store holds the emulator's data model: accounts, containers, block
// blobs, staged blocks and leases. It knows nothing of HTTP.
//
// Every committed blob is an immutable *Blob value. A write builds a new
// value (sharing the content chunks of the old one where it can) and swaps it
// in under the account lock, so readers never see a half-applied write and a
// reader that holds a *Blob keeps a consistent snapshot while it streams the
// body. The same immutability makes replication cheap: the change feed
// carries pointers to those values, and the secondary store applies them
// without copying a byte.
//
// With a data directory (Options.Journal and Options.Files, which
// internal/durable provides) the same model becomes durable: bodies stream
// into content files and a Content refers to them by extent instead of
// holding bytes, and every write returns only once its record is durable,
// handing its Change to OnCommit (the replicator) only then. Without them
// nothing touches the disk and the store behaves exactly as in memory.
//
// Conditions (If-Match and friends) and lease checks are evaluated inside
// the store, under the same lock as the write they guard, so they are atomic
// with it.
package store
