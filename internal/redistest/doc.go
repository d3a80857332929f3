// Package redistest starts throwaway Redis servers and Redis Clusters for
// tests: redis-server processes on free ports of 127.0.0.1, each in its own
// temporary directory, killed when the test ends. It needs redis-server
// and redis-cli (7.0 or newer) on PATH; a missing binary fails the test,
// it never skips it.
//
// It is imported only by _test files (internal/lint checks this), and it
// imports no other package of this module.
package redistest
