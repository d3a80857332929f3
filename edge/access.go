package edge

import (
	"errors"
	"slices"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/auth"
)

// TokenVerifier checks a viewer's token. *auth.Verifier satisfies it.
type TokenVerifier interface {
	Verify(token string) (auth.Claims, error)
}

// onHeader collects the headers that access control needs.
func (l *loop) onHeader(key, value []byte) error {
	switch string(key) {
	case "Origin":
		l.target.origin = string(value)
	case "Authorization":
		if token, ok := auth.BearerToken(string(value)); ok {
			l.target.token = token
		}
	}
	return nil
}

// onBeforeUpgrade admits the request or refuses it: a browser's Origin
// must be allowed (cross-site WebSocket hijacking), and with Tokens set a
// valid token is required, from the Authorization header or, since
// browsers cannot set headers on a WebSocket, the token query parameter.
func (l *loop) onBeforeUpgrade() (ws.HandshakeHeader, error) {
	if r := l.admit(); r != nil {
		return nil, r.upgradeError()
	}
	return nil, nil
}

// admit checks the Origin and the token of the request l.target holds, as
// onBeforeUpgrade describes, for /ws, /sub and /sse alike, and keeps the
// token's expiry.
func (l *loop) admit() *rejection {
	cfg := &l.server.cfg
	if l.target.origin != "" && !originAllowed(cfg.AllowedOrigins, l.target.origin) {
		return &rejection{403, "origin not allowed"}
	}
	if cfg.Tokens == nil || l.target.bili {
		// /sub clients carry their token in the enter packet's key.
		return nil
	}
	if l.target.token == "" {
		return &rejection{401, "a viewer token is required"}
	}
	claims, err := cfg.Tokens.Verify(l.target.token)
	if err != nil {
		reason := "invalid viewer token"
		if errors.Is(err, auth.ErrExpired) {
			reason = "viewer token expired"
		}
		return &rejection{401, reason}
	}
	l.target.expires = claims.Expires.UnixNano()
	return nil
}

// originAllowed reports whether origin may open a connection: any origin
// when the list is empty or holds "*", else an exact match.
func originAllowed(allowed []string, origin string) bool {
	return len(allowed) == 0 || slices.Contains(allowed, "*") || slices.Contains(allowed, origin)
}
