// Package chaos holds what geoblob's crash test (internal/crashtest) and
// chaos soak (internal/soak) share to judge the bytes a storm of writes
// leaves behind:
//
//   - Payload builds blob contents that describe themselves: a header naming
//     the blob, the version and the length, then bytes derived from those.
//     Verify recognises a complete version from its bytes alone, so a torn,
//     truncated, mixed or misplaced body is caught without keeping every
//     version sent in memory.
//   - History records, per blob name, when each version was sent and when
//     (if ever) it was acknowledged, on a logical clock, and derives the
//     versions a reader may legally see after a crash.
//   - Classify sorts the errors of a faulty run into a few typed kinds, so a
//     run can report errors by type and flag any error it cannot explain.
package chaos
