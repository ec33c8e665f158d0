// Package opstable reads the README's table of Blob REST operations, and
// its tests hold the table to the emulator: each row's request must get
// the answer its status claims, and each supported row must name a test
// that exists and exercises the operation.
package opstable
