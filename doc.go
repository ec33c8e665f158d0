// Package geoblob adds circuit-breaking, replication-aware geo-redundant
// reads to the official Azure Blob Storage client for Go
// (github.com/Azure/azure-sdk-for-go/sdk/storage/azblob), for accounts with
// read-access geo-redundancy (RA-GRS, RA-GZRS).
//
// # Model
//
// A Router is an azcore pipeline policy plus a handle. Reads (GET and HEAD)
// go where its breaker says; everything else is a write and always goes to
// the primary, in every mode, hedged or not. Get Blob Service Stats alone
// is sent to the secondary. The breaker starts closed (reads on the
// primary). Failed primary reads count against the primary: 408, 429, 500,
// 502, 503 and 504 answers, connection errors, timeouts (the attempt bound
// below, the SDK's RetryOptions.TryTimeout) and bodies that break while
// being read. Caller cancellation (context.Canceled) is neutral. After
// Config.FailureThreshold consecutive failures (5, as in Microsoft's
// circuit-breaker tutorial), or a failure ratio over a rolling window, or
// too many slow calls, the breaker opens: reads go straight to the
// secondary, with no primary attempt, and writes fail fast with
// ErrPrimaryUnavailable (the read-only mode of Microsoft's HA guidance;
// Config.AllowWritesWhileDown turns it off). After Config.FailbackReads
// successful secondary reads (20) or Config.FailbackAfter, one read at a
// time probes the primary (half-open) while all others keep using the
// secondary; while the breaker is open a background probe (Get Account
// Information, Config.ProbeInterval) checks the primary even without
// traffic. A probe succeeds when its answer came within the attempt bound
// (and Config.SlowCallThreshold) and, for a read, its body ended unbroken;
// enough successes in a row close the breaker. A failed probe backs the
// next one off exponentially, except one that timed out: having waited the
// whole bound, it starts the back-off over. A breaker that trips again within Config.Window of
// closing needs twice as many successful probes the next time (flap
// damping). Force pins routing to PrimaryOnly or SecondaryOnly, or hands it
// back to Auto.
//
// # Attempts, fallback and double outages
//
// Every routed attempt, at either location and probes included, waits at
// most the attempt bound for its response headers (Config.AttemptTimeout;
// by default four times the p99 of recent primary reads, between 500 ms
// and 1 s; Router.AttemptTimeout reports it). An attempt that fails
// retryably or times out is sent at once to the other location within the
// same try (a fallback), so no read fails while one location is healthy.
// When both fail the read returns ErrBothUnavailable wrapping both causes.
// During the first half second of a double outage that error is left to
// the SDK's retry policy, so a short secondary blip during a primary
// outage is ridden out by the next try; after that it is final. From the
// first double failure until a location serves a read again, attempts get
// half the bound each. So reads end in bounded time while both locations
// are down: with the defaults, within two SDK tries.
//
// # Versions and bodies
//
// The secondary is eventually consistent: a 404 or 412 from it means "not
// replicated yet", and the read is retried on the primary without counting
// against the secondary. Downloads never mix two blob versions: azblob
// sends every chunk after the first, and every resumption of
// DownloadStream's retry reader, with If-Match set to the first answer's
// ETag (DownloadBuffer and DownloadFile of this package add that condition
// for an explicit Range, where azblob sends none, and restart a download
// whose version vanished). When the primary answers 412 to a chunk of a
// version the secondary served, the chunk is served by the secondary (a
// pinned read); pins never move a read off a primary that has the version,
// and the primary serving the path drops them. A body that breaks while
// being read sends the retry reader's resumption of that version to the
// other location.
//
// The secondary's LastSyncTime is read from Get Blob Service Stats at most
// every Config.StatsRefresh while reads use the secondary
// (Router.Staleness); with Config.MaxStaleness, reads that would be served
// by a secondary staler than the bound fail with ErrTooStale. Optional
// hedging (Config.Hedge) sends a read to the secondary as well when the
// primary is slower than a fixed delay or its observed p95, within a
// budget; the first good answer wins, the other is cancelled, and a read
// the secondary won counts as a slow primary call.
//
// # Account failover
//
// After an unplanned account failover the primary URL serves the promoted
// copy and the account is locally redundant: its -secondary endpoint
// refuses connections or answers 403 InsufficientAccountPermissions until
// geo-redundancy is enabled again and the new secondary has bootstrapped.
// The Router marks the secondary down after
// Config.SecondaryFailureThreshold consecutive failed attempts there (a
// retryable status, a refused or broken connection, a timeout, a broken
// body, that 403), or at once when Get Blob Service Stats reports
// "unavailable" or answers that 403. While it is down, a failed primary
// attempt does not fall back to it: the failure stays retriable by the
// SDK (as ErrBothUnavailable with ErrSecondaryDown as the secondary's
// cause, final only once a double outage has lasted half a second), hedges
// and pinned reads stay on the primary, and no bound is halved for it.
// Secondary failures never count against the primary. While the breaker is
// open, reads go to the primary first, whose first good answer closes the
// breaker, and the secondary is still tried after a primary failure; a
// good answer from it ends the mark. A background check reads Stats
// Config.SecondaryRecheck after the mark, then with doubling waits up to
// 5 minutes, and puts the secondary back in use once it reports "live".
// SecondaryState, Config.OnSecondaryChange and the Secondary* counters
// report all of this; CheckSecondary checks at once. Force(SecondaryOnly)
// still sends reads to a secondary marked down: a forced mode is obeyed. RecoveryPoint reads
// Stats afresh: every write before its LastSyncTime survives an unplanned
// failover made now, later ones may not. A planned failover needs nothing
// of the Router: both copies stay readable, versions keep their ETags, and
// writes the swap refuses with 503 are the SDK's to retry.
//
// # Configuration
//
// One rule covers every Config field: zero means DefaultConfig's value,
// and a negative value turns off a feature that is on by default. So
// &Config{} is valid and means DefaultConfig(). Validate rejects a
// breaker that can never trip (ErrNeverTrips) or never fail back
// (ErrNeverFailsBack), both wrapped with ErrInvalidConfig.
//
// # Placement: PerRetryPolicies
//
// The Router must be one of ClientOptions.PerRetryPolicies, which is where
// the constructors put it. azcore's retry policy clones the request for
// every try and runs the per-retry policies on each clone, so the Router
// sees and counts every try, can choose the location of each try (the seed
// tutorial likewise counts retries, not operations), can fall back within a
// try without waiting for the retry back-off, and readdresses only its own
// copy of the request (URL host, Host header and, for path-style URLs, the
// /ACCOUNT -> /ACCOUNT-secondary segment). A per-call policy would see one
// outcome per operation, after the retry policy had already spent its
// retries and back-off on the failing primary. Errors the Router decides
// (ErrPrimaryUnavailable, ErrTooStale, and ErrBothUnavailable once a double
// outage has lasted half a second) are marked non-retriable, so the SDK returns
// them at once; errors.Is and errors.As find the sentinel and the *Error.
//
// azblob's authentication policy runs before the user's per-retry
// policies, so the Router sees requests already signed. Bearer tokens and
// SAS query parameters do not depend on the location. Shared Key signs
// "/ACCOUNT/PATH" with the primary account name: for host-style URLs the
// path is the same on the secondary, which authorizes with the primary
// account name, so the signature stays valid. For path-style URLs the path
// changes (/ACCOUNT/... becomes /ACCOUNT-secondary/...), so the Router
// signs the moved request again for the path it is sent to, when it knows
// the key (NewClientWithSharedKey, NewClientFromConnectionString,
// Router.SetAccountKey). With only a *SharedKeyCredential it cannot, and the
// request keeps the primary path's signature, which the geoblob emulator
// accepts on the secondary as well.
//
// # Observability
//
// Config.OnRetry, OnResponse and OnStateChange mirror the tutorial's
// retry_callback and response_callback, OnProbe reports every probe's
// verdict, and OnSecondaryChange the secondary marked down or back; they run outside any lock, so they may call back into the
// Router or the client. WithReadInfo reports how the reads of one call were
// served (location, fallback, LastSyncTime; Served is false when nothing
// served it). Counters returns a snapshot. Logs go to log/slog, at most one
// line per second of each kind (state changes, failed probes, reads failed
// on both locations) with a count of those left out. Logs, errors and
// events never contain an account key, a bearer token or a SAS signature.
//
// # Hot path
//
// A read on a healthy primary costs a few atomic loads and stores and no
// lock. The attempt bound needs a cancellable context per attempt; the
// body watcher is that context, so geoblob allocates one 160-byte object
// per attempt (the timer comes from a pool), besides the copy of the
// request azcore makes for every policy. Through net/http, which asks a
// cancellable context for its Done channel and registers a context of its
// own in it, that costs three more small allocations. Once tripped, a read goes straight to
// the secondary. Transitions take a mutex; events they produce are emitted
// after it is released.
package geoblob
