// Package lint holds repository-wide tests: forbidden imports between the
// module's packages, gofmt on every tracked Go file, and a package comment in
// each top-level package's doc.go. Apart from this file it holds only tests,
// and it imports no other package of this module.
package lint
