// Package auth verifies and mints the bearer tokens of danmu: JWTs signed
// with HS256 and a shared secret, carrying the user id (sub), display name
// (name) and role (viewer or admin). The algorithm is pinned, so a token
// naming "none" or any other algorithm is refused, whatever its signature.
// Ingest uses it for posters and moderators, the edge for viewers.
//
// It imports no other package of this module.
package auth
