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
// primary). Retryable primary failures (408, 429, 500, 502, 503, 504,
// connection errors and timeouts, including a try that exceeds the SDK's
// RetryOptions.TryTimeout) count against the primary; caller cancellation
// (context.Canceled) is neutral. After Config.FailureThreshold
// consecutive failures (5, as in Microsoft's circuit-breaker tutorial), or
// a failure ratio over a rolling window, or too many slow calls, the
// breaker opens: reads go straight to the secondary, with no primary
// attempt, and writes fail fast with ErrPrimaryUnavailable (the read-only
// mode of Microsoft's HA guidance; Config.AllowWritesWhileDown turns it
// off). After Config.FailbackReads successful secondary reads (20) or
// Config.FailbackAfter, one read at a time probes the primary (half-open)
// while all others keep using the secondary; a successful probe closes the
// breaker, a failed one backs the next probe off exponentially. Force pins
// routing to PrimaryOnly or SecondaryOnly, or hands it back to Auto.
//
// Within one try, a read that fails retryably on its first location is sent
// at once to the other one (a fallback), so no read fails while one
// location is healthy; when both fail the read returns ErrBothUnavailable
// wrapping both causes. A try that timed out has no time left for a
// fallback: it is counted and returned, and the SDK's next try goes where
// the breaker then says. The secondary is eventually consistent: a 404 or
// 412 from it means "not replicated yet", and the read is retried on the
// primary without counting against the secondary. Downloads never mix two
// blob versions: azblob sends every chunk after the first, and every
// resumption of DownloadStream's retry reader, with If-Match set to the
// first answer's ETag (DownloadBuffer and DownloadFile of this package add
// that condition for an explicit Range, where azblob sends none); versions
// the secondary served (GET or HEAD) stay pinned there, and a version
// missing at the other location yields a 412, which DownloadBuffer and
// DownloadFile answer by restarting the whole download on one location. The secondary's LastSyncTime is read from Get
// Blob Service Stats at most every Config.StatsRefresh while reads use the
// secondary (Router.Staleness); with Config.MaxStaleness, reads that would
// be served by a secondary staler than the bound fail with ErrTooStale.
// Optional hedging (Config.Hedge) sends a read to the secondary as well
// when the primary is slower than a fixed delay or its observed p95, within
// a budget; the first good answer wins and the other is cancelled.
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
// (ErrPrimaryUnavailable, ErrBothUnavailable, ErrTooStale) are marked
// non-retriable, so the SDK returns them at once.
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
// retry_callback and response_callback; they run outside any lock, so they
// may call back into the Router or the client. WithReadInfo reports how the
// reads of one call were served (location, fallback, LastSyncTime).
// Counters returns a snapshot. Logs go to log/slog. Logs, errors and events
// never contain an account key, a bearer token or a SAS signature.
//
// # Hot path
//
// A read on a healthy primary costs a few atomic loads and stores: no
// locks, no allocation by geoblob (azcore itself allocates one small
// request copy per policy in the pipeline). Once tripped, a read goes
// straight to the secondary, with one read-locked map lookup to keep its
// version pinned. Transitions take a mutex; events they produce are
// emitted after it is released.
package geoblob
