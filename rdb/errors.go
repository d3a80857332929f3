package rdb

import (
	"errors"
	"fmt"
)

// ErrUnavailable reports that Redis could not be reached, did not answer
// in time, or answered a command with an error. What Redis holds is then
// unknown: callers refuse the request (ingest answers 503) or try again
// later, and never take the state for empty. A write that failed with it
// may or may not have been done.
var ErrUnavailable = errors.New("rdb: unavailable")

// Unavailable returns err, the failure of op, wrapped in ErrUnavailable.
// Every failed command of a Client is one: a connection that broke, a
// timeout, a closed Client, an error reply. errors.Is still finds err, so
// a caller can tell its own cancellation (context.Canceled) from Redis
// failing.
func Unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}
