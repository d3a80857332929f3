// Package auth verifies and mints the bearer tokens of danmu: JWTs
// carrying the user id (sub), display name (name) and role (viewer or
// admin). danmu mints HS256 tokens with a shared secret; it verifies
// those, and the RS256, ES256 and EdDSA tokens of an identity provider
// with its public keys, given in PEM or fetched as a JWK Set from a URL
// and kept fresh (KeySet). Each key verifies the one algorithm its type
// allows, and a token naming an algorithm of no configured key ("none"
// included) is refused, whatever its signature.
// Ingest uses it for posters and moderators, the edge for viewers.
//
// Verifying never does I/O; only KeySet's Fetch and Run use the network.
// It imports no other package of this module.
package auth
