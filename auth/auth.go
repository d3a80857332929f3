package auth

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors of Verify. Every error Verify returns wraps ErrInvalidToken; an
// expired or not yet valid token also wraps ErrExpired or ErrNotYetValid,
// and one above Config.MaxTokenBytes wraps ErrTokenTooLarge.
var (
	ErrInvalidToken  = errors.New("auth: invalid token")
	ErrExpired       = errors.New("auth: token expired")
	ErrNotYetValid   = errors.New("auth: token not valid yet")
	ErrTokenTooLarge = errors.New("auth: token too large")
)

// Errors of NewVerifier, Mint, ParsePublicKeys and of key sets.
var (
	ErrWeakSecret   = errors.New("auth: secret too short")
	ErrInvalidClaim = errors.New("auth: invalid claim")
	ErrBadKey       = errors.New("auth: unusable key")
	ErrKeySet       = errors.New("auth: key set unavailable")
)

// Roles a token may carry. A token without a role is a viewer's.
const (
	RoleViewer = "viewer"
	RoleAdmin  = "admin"
)

// Defaults for the zero fields of Config.
const (
	// MinSecretBytes is the shortest secret accepted: HS256 keys shorter
	// than its 256-bit hash make brute force easier (RFC 7518, 3.2).
	MinSecretBytes = 32
	// DefaultLeeway absorbs clock skew between the minting and the
	// verifying host when checking exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultMaxTokenBytes bounds the tokens Verify reads: a token of
	// danmu's claims is about 250 bytes, and a larger one is refused before
	// any decoding.
	DefaultMaxTokenBytes = 2048
	// DefaultCacheSize is the number of verified tokens a Verifier
	// remembers: a user posts many times with one token, and verifying
	// one costs tens of microseconds (BenchmarkVerify).
	DefaultCacheSize = 4096
)

// algorithm is the only signing algorithm minted and accepted.
const algorithm = "HS256"

// Config configures a Verifier and Mint. Secret is required.
type Config struct {
	// Secret is the HMAC key shared by every host that mints or verifies
	// tokens: at least MinSecretBytes bytes.
	Secret []byte
	// Issuer, when set, is written as iss by Mint and required by Verify.
	Issuer string
	// Audience, when set, is written as aud by Mint and required by Verify.
	Audience string
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Zero or less means DefaultLeeway.
	Leeway time.Duration
	// MaxTokenBytes is the longest token Verify accepts. Zero or less means
	// DefaultMaxTokenBytes.
	MaxTokenBytes int
	// CacheSize is the number of verified tokens remembered, so that the
	// next Verify of one only checks its expiry. Zero means
	// DefaultCacheSize; a negative value turns the cache off.
	CacheSize int
}

func (c Config) withDefaults() (Config, error) {
	if len(c.Secret) < MinSecretBytes {
		return c, fmt.Errorf("%w: %d bytes, need at least %d", ErrWeakSecret, len(c.Secret), MinSecretBytes)
	}
	if c.Leeway <= 0 {
		c.Leeway = DefaultLeeway
	}
	if c.MaxTokenBytes <= 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	return c, nil
}

// Claims is what a valid token says about its bearer.
type Claims struct {
	// Sub is the user id. It is never empty in a verified token.
	Sub string
	// Name is the display name; it may be empty.
	Name string
	// Role is RoleViewer or RoleAdmin.
	Role string
	// Expires is when the token stops being valid (its exp). A connection
	// authenticated by it should end then.
	Expires time.Time
}

// Admin reports whether the claims carry the admin role.
func (c Claims) Admin() bool { return c.Role == RoleAdmin }

// tokenClaims is the JSON payload of a token.
type tokenClaims struct {
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
	jwt.RegisteredClaims
}

// Validate checks the claims danmu adds; the jwt parser calls it after
// the registered claims.
func (t *tokenClaims) Validate() error {
	if t.Subject == "" {
		return fmt.Errorf("%w: sub is empty", ErrInvalidClaim)
	}
	if t.Role != "" && t.Role != RoleViewer && t.Role != RoleAdmin {
		return fmt.Errorf("%w: role %q", ErrInvalidClaim, t.Role)
	}
	return nil
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	// Immutable after NewVerifier.
	cfg    Config
	parser *jwt.Parser

	// cache holds tokens that verified, by their text: a token's claims
	// never change, so only its expiry needs checking again. When full, an
	// arbitrary entry makes room.
	cache struct {
		sync.Mutex
		claims map[string]Claims
	}
}

// NewVerifier returns a Verifier for cfg, or ErrWeakSecret when the secret
// is too short.
func NewVerifier(cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{algorithm}),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &Verifier{cfg: cfg, parser: jwt.NewParser(opts...)}
	v.cache.claims = make(map[string]Claims)
	return v, nil
}

// Verify checks token (the compact JWT, without "Bearer ") and returns its
// claims: size, algorithm (HS256 only), signature, exp (required), nbf and
// iat, and iss and aud when configured. Errors wrap ErrInvalidToken.
func (v *Verifier) Verify(token string) (Claims, error) {
	if len(token) > v.cfg.MaxTokenBytes {
		return Claims{}, fmt.Errorf("%w: %w: %d bytes > %d", ErrInvalidToken, ErrTokenTooLarge, len(token), v.cfg.MaxTokenBytes)
	}
	if c, ok := v.cached(token); ok {
		if time.Now().After(c.Expires.Add(v.cfg.Leeway)) {
			return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrExpired)
		}
		return c, nil
	}
	var tc tokenClaims
	_, err := v.parser.ParseWithClaims(token, &tc, v.key)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrExpired)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrNotYetValid)
	case err != nil:
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	c := Claims{Sub: tc.Subject, Name: tc.Name, Role: tc.Role, Expires: tc.ExpiresAt.Time}
	if c.Role == "" {
		c.Role = RoleViewer
	}
	v.remember(token, c)
	return c, nil
}

func (v *Verifier) cached(token string) (Claims, bool) {
	v.cache.Lock()
	defer v.cache.Unlock()
	c, ok := v.cache.claims[token]
	return c, ok
}

func (v *Verifier) remember(token string, c Claims) {
	if v.cfg.CacheSize < 0 {
		return
	}
	v.cache.Lock()
	defer v.cache.Unlock()
	if len(v.cache.claims) >= v.cfg.CacheSize {
		for old := range v.cache.claims {
			delete(v.cache.claims, old)
			break
		}
	}
	v.cache.claims[token] = c
}

// key hands the secret to the parser for HS256 tokens only. The parser has
// already refused other algorithms (WithValidMethods); checking the method
// again keeps the secret from ever keying another algorithm.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("%w: algorithm %v", ErrInvalidToken, t.Header["alg"])
	}
	return v.cfg.Secret, nil
}

// BearerToken returns the token of an Authorization header value of the
// form "Bearer <token>" (the scheme in any case, RFC 6750), and false when
// the header is of another form or the token is empty.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}
