// Package emubench measures the geoblob emulator side by side with Azurite
// and with a floor server, in one run and with one workload.
//
// The workload is the one issue 14 lists: small (4 KiB) GETs and PUTs at
// several concurrency levels, a large upload and parallel download through
// azblob and through a raw net/http client (SAS, Put Block plus Put Block
// List, ranged GETs), List Blobs on containers of growing size, flat and
// with a delimiter, and repeated overwrites of a large blob while
// replication lags. Every server runs as its own process on loopback, so
// its CPU time (utime+stime from /proc/PID/stat), its minor page faults
// (minflt, same file: first touches of memory, which explain much of a
// phase's cost on some virtual machines) and resident memory (VmRSS from
// /proc/PID/status, sampled) can be charged to each phase.
//
// Memory is compared like for like. RSS after a group of phases is read,
// Settle after its last request, with every server holding the same
// blobs: a listed container that some server was not filled with (Azurite
// above Config.AzuriteListMax) is deleted before the reading. Each group
// then deletes what it wrote, so that the next group's peak RSS is its own
// work and not the data of earlier phases (which geoblob in memory holds
// in RAM and Azurite on disk). The last reading, "end", is taken after the
// workload deleted everything, every server then holding no blob: it is
// the figure of the target "RSS after the workload".
//
// The floor is a bare net/http handler ([FloorHandler]) that answers the
// same requests with the same bytes and stores nothing: it shows how close
// a server can get to the cost of Go's HTTP stack on the machine.
//
// [Run] drives the servers and returns a [Report]; the report renders as a
// text table ([Report.WriteTable]), JSON, and an SVG picture of the main
// ratios ([Report.WriteSVG]), and carries a verdict for each target of the
// issue, computed and printed, never asserted.
//
// The package reads /proc and is meant for Linux.
package emubench
