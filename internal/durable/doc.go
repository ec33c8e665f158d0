// Package durable keeps the emulator's state in a data directory, so that
// it survives restarts, kill -9 and power loss.
//
// # Layout
//
//	DIR/FORMAT      the format stamp: "geoblob data directory" and "format N"
//	DIR/LOCK        held (flock) by the one process that has DIR open
//	DIR/meta.db     bbolt: every record (containers, blobs, snapshots,
//	                previous versions and soft-deleted blobs, uncommitted
//	                blocks, leases, service properties, soft-deleted
//	                containers with their blobs, replication state)
//	DIR/blobs/ID    content files: the bytes of one body or block each,
//	                written once, never modified, named by a random id
//
// meta.db holds one bucket per store instance ("store:ID"), so that the
// primary and the secondary are independent on disk; one bucket per
// replication link ("log:PRIMARY"), the pending replication log: every
// change the primary committed and the secondary has not yet applied; and
// the "roles" record, which names the primary and the secondary instance
// (none while the account is locally redundant) and carries the caller's
// own state of the roles (the emulator's epoch, copy names, bootstrap
// deadline, secondary down).
//
// A role change (ChangeRoles) is one transaction, queued behind every
// record submitted before it: it rewrites the roles record, drops the
// logs and store instances the change ends (the drained log of a planned
// failover; the lost writes and the discarded copy of an unplanned one),
// and rebinds journals to their new log. A crash leaves the directory
// either before or after it. A secondary built by enabling geo-redundancy
// is written to a new instance before the change that names it; if the
// process dies first, DropUnused removes it at the next start. Records are JSON of the store's own types (store.Blob,
// store.Container, store.Change), encoded generically, so a field added to
// them is persisted without a change here; a Content is encoded as its list
// of extents of content files.
//
// # Why bbolt and one file per body
//
// bbolt is a small, widely used (etcd) embedded B+tree with ACID
// transactions: a transaction is durable when Commit returns (it fsyncs
// the data pages, then writes and fsyncs one of two checksummed meta
// pages). On power loss a transaction is therefore either entirely there or
// entirely absent; a torn meta page fails its checksum and the previous one
// is used. It needs no compaction thread and no tuning. Its cost is one
// writer at a time, which group commit (below) amortises.
//
// Blob bytes are kept out of the B+tree, which would copy them on every
// page split and hold them in its mmap: each body or block goes to its own
// content file, streamed from the network through a bounded buffer and
// fsynced before the record that refers to it is committed. A content file
// is garbage until a committed record names it, so a crash mid-upload
// leaves at most an orphan file, which the collector removes. Reads open
// the file and check its length; a read of a whole file checks its CRC-32C
// before the last piece is delivered, so damaged bytes are never served
// complete (the connection is cut instead, and the damage is logged).
//
// # Crash safety
//
// A write is acknowledged only after its record is in a committed bbolt
// transaction, and that transaction commits only after the content files it
// names and their directory entries are fsynced. Writers submit records in
// commit order to one writer goroutine that commits every record waiting in
// one transaction (group commit), so concurrent writers share the fsyncs.
// The replicator sees a change only once it is durable, so the secondary
// never applies a change the primary could lose. A secondary's apply, the
// replication position and the removal of the change from the pending log
// are one transaction: after a crash every change is applied exactly once,
// and LastSyncTime, which is restored from the last applied change and then
// recomputed, never goes backwards. If a disk write fails after its change
// became visible in memory, the store refuses every later write (500
// InternalError, logged) rather than diverge from its disk.
//
// # Garbage
//
// A content file is live while any Content in memory refers to it (the
// store counts references and learns of their end through runtime
// cleanups) or while a record of the pending replication log names it. A
// collection lists the content directory, waits for every record
// submitted so far to be durable, and removes files that are neither; its
// cost is one directory listing and one scan of the pending log.
//
// # Compaction
//
// bbolt never shrinks meta.db: the pages a large delete frees stay in the
// file and in the free list bbolt keeps in memory, one entry per page.
// When at least 64 MB of meta.db is free, three times what is live, and
// at most 64 MB is live, the writer goroutine compacts it between two
// commits, after acknowledging the last: it copies the live records into
// meta.db.compact, fsyncs it, closes meta.db (read transactions finish
// first; new ones wait), renames the copy over meta.db, fsyncs the
// directory and opens it again. Records submitted meanwhile wait in the
// queue and are committed to the new file. Until the rename meta.db is
// the old, complete file; after it, the copy, which holds every committed
// record. Open removes a meta.db.compact a crash left behind, once meta.db
// has opened (a start that refuses meta.db leaves it). The format
// does not change.
//
// # Format versions
//
// FORMAT names the layout version. This build writes and reads format 1. A
// later build opens every older format it knows (migrating it in place,
// once, under the lock) or refuses it with a one-line message naming the
// build to use; a directory of a newer format, or one without a FORMAT
// stamp that is not empty, is refused and never modified. So is a stamped
// directory (or one with content files) whose meta.db is missing or empty:
// its metadata was lost, and starting empty would hide every blob and let
// the collector remove their content, which a restored meta.db still needs.
//
// A new directory is stamped last: the first start writes FORMAT.tmp, sets
// up meta.db and the content directory, and only then renames FORMAT.tmp
// to FORMAT, before it serves anything. A process killed at any point of
// that leaves an unstamped directory holding at most FORMAT.tmp, meta.db
// and an empty content directory, which the next start recognises as a
// first start cut short and sets up again, rather than a stamped directory
// without metadata, which it would have to refuse.
//
// Durable role changes kept format 1: the roles record gained an optional
// caller state, and a directory written before has none (the emulator
// then starts with its first roles, as it always did). A build from before
// them ignores that state, so it would lose a bootstrap deadline or a
// secondary marked down, and it refuses a directory left locally redundant
// (no secondary in the roles record) as damaged.
package durable
