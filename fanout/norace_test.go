//go:build !race

package fanout_test

// raceEnabled reports whether the tests run with the race detector, which
// makes sync.Pool drop items at random.
const raceEnabled = false
