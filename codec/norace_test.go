//go:build !race

package codec

// raceEnabled reports whether the tests run with the race detector, which
// makes sync.Pool (sonic's buffers) drop items at random.
const raceEnabled = false
