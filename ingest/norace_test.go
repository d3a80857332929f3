//go:build !race

package ingest

// raceEnabled reports whether the tests run with the race detector, which
// makes sync.Pool drop items at random.
const raceEnabled = false
