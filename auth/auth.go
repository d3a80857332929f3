package auth

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors of Verify. Every error Verify returns wraps ErrInvalidToken; an
// expired or not yet valid token also wraps ErrExpired or ErrNotYetValid,
// one above Config.MaxTokenBytes wraps ErrTokenTooLarge, and one for
// which no configured key fits (by algorithm and kid) wraps ErrUnknownKey.
var (
	ErrInvalidToken  = errors.New("auth: invalid token")
	ErrExpired       = errors.New("auth: token expired")
	ErrNotYetValid   = errors.New("auth: token not valid yet")
	ErrTokenTooLarge = errors.New("auth: token too large")
	ErrUnknownKey    = errors.New("auth: no key for the token")
)

// Errors of NewVerifier, Mint, ParsePublicKeys and KeySet.
var (
	ErrWeakSecret     = errors.New("auth: secret too short")
	ErrInvalidClaim   = errors.New("auth: invalid claim")
	ErrNoKeys         = errors.New("auth: no key to verify tokens with")
	ErrBadKey         = errors.New("auth: unusable key")
	ErrKeySet         = errors.New("auth: key set unavailable")
	ErrKeySetTooLarge = errors.New("auth: key set too large")
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
	// DefaultMaxKeyTokenBytes replaces DefaultMaxTokenBytes when public
	// keys are configured: an identity provider's tokens carry more claims
	// and a longer signature (342 characters for RS256 with 2048 bits).
	DefaultMaxKeyTokenBytes = 4096
	// DefaultCacheSize is the number of verified tokens a Verifier
	// remembers: a user posts many times with one token, and verifying
	// one costs about 10 µs with HS256 and 70 to 190 µs with RS256, ES256
	// or EdDSA, against 0.2 µs from the cache (BenchmarkVerifyUncached,
	// BenchmarkVerifyAlgorithms).
	DefaultCacheSize = 4096
	// DefaultRoleClaim and DefaultAdminRole are where the role of a token
	// signed with a public key is read, and the value that makes an admin.
	DefaultRoleClaim = "role"
	DefaultAdminRole = RoleAdmin
)

// Config configures a Verifier and Mint. A Verifier needs at least one
// key: Secret, PublicKeys or KeySet. Mint needs Secret.
type Config struct {
	// Secret is the HMAC key shared by every host that mints or verifies
	// HS256 tokens: at least MinSecretBytes bytes. Empty refuses HS256.
	Secret []byte
	// PublicKeys verify the tokens an identity provider signs, each with
	// the one algorithm its type allows: RS256 for *rsa.PublicKey
	// (MinRSABits to MaxRSABits), ES256 for *ecdsa.PublicKey on P-256,
	// EdDSA for ed25519.PublicKey (ParsePublicKeys reads them from PEM).
	// A token's kid is not matched against them: each key of the token's
	// algorithm is tried.
	PublicKeys []crypto.PublicKey
	// KeySet, when set, verifies RS256, ES256 and EdDSA tokens with its
	// key of the kid the token names (every key of the algorithm when it
	// names none). Its owner runs it (KeySet.Run) to keep it fresh, and
	// may share it between Verifiers.
	KeySet *KeySet
	// Issuer, when set, is written as iss by Mint and required by Verify.
	Issuer string
	// Audience, when set, is written as aud by Mint and required by Verify.
	Audience string
	// RoleClaim names the claim holding the roles of a token signed with
	// a public key: a string or a list of strings. Zero means
	// DefaultRoleClaim. HS256 tokens, danmu's own, always carry "role".
	RoleClaim string
	// AdminRole is the role, in RoleClaim, that makes a token signed with
	// a public key an admin's; any other role makes a viewer. Zero means
	// DefaultAdminRole.
	AdminRole string
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Zero or less means DefaultLeeway.
	Leeway time.Duration
	// MaxTokenBytes is the longest token Verify accepts. Zero or less means
	// DefaultMaxTokenBytes, or DefaultMaxKeyTokenBytes with PublicKeys or
	// a KeySet.
	MaxTokenBytes int
	// CacheSize is the number of verified tokens remembered, so that the
	// next Verify of one only checks its expiry. Zero means
	// DefaultCacheSize; a negative value turns the cache off.
	CacheSize int
}

// checkSecret returns ErrWeakSecret unless the secret is long enough.
func (c Config) checkSecret() error {
	if len(c.Secret) < MinSecretBytes {
		return fmt.Errorf("%w: %d bytes, need at least %d", ErrWeakSecret, len(c.Secret), MinSecretBytes)
	}
	return nil
}

// withDefaults checks c for a Verifier and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	publicKeys := len(c.PublicKeys) > 0 || c.KeySet != nil
	switch {
	case len(c.Secret) > 0:
		if err := c.checkSecret(); err != nil {
			return c, err
		}
	case !publicKeys:
		return c, fmt.Errorf("%w: set a secret, public keys or a key set", ErrNoKeys)
	}
	if c.Leeway <= 0 {
		c.Leeway = DefaultLeeway
	}
	if c.MaxTokenBytes <= 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
		if publicKeys {
			c.MaxTokenBytes = DefaultMaxKeyTokenBytes
		}
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.RoleClaim == "" {
		c.RoleClaim = DefaultRoleClaim
	}
	if c.AdminRole == "" {
		c.AdminRole = DefaultAdminRole
	}
	return c, nil
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	// Immutable after NewVerifier.
	cfg        Config
	parser     *jwt.Parser
	publicKeys []verificationKey // of cfg.PublicKeys

	// cache holds tokens that verified, by their text: a token's claims
	// never change, so only its expiry needs checking again, and whether
	// the key set withdrew a key since. When full, an arbitrary entry
	// makes room.
	cache struct {
		sync.Mutex
		entries map[string]cacheEntry
	}
}

// cacheEntry is a verified token's claims and the key set's generation
// when it was verified.
type cacheEntry struct {
	claims     Claims
	generation uint64
}

// NewVerifier returns a Verifier for cfg. It fails with ErrNoKeys without
// any key, ErrWeakSecret when the secret is too short, and ErrBadKey for
// a public key of a type or size not accepted.
func NewVerifier(cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg}
	// The algorithms accepted are those of the keys configured; the
	// parser refuses any other before looking for a key.
	var algs []string
	if len(cfg.Secret) > 0 {
		algs = append(algs, algHS256)
	}
	for i, key := range cfg.PublicKeys {
		k, err := newVerificationKey("", key)
		if err != nil {
			return nil, fmt.Errorf("public key %d: %w", i+1, err)
		}
		v.publicKeys = append(v.publicKeys, k)
		algs = append(algs, k.alg)
	}
	if cfg.KeySet != nil {
		algs = append(algs, algRS256, algES256, algEdDSA)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
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
	v.parser = jwt.NewParser(opts...)
	v.cache.entries = make(map[string]cacheEntry)
	return v, nil
}

// Verify checks token (the compact JWT, without "Bearer ") and returns its
// claims: size, algorithm (one of the configured keys'), signature with
// the key its algorithm and kid select, exp (required), nbf and iat, iss
// and aud when configured, and the role. It never waits for the network:
// a kid the key set lacks is refused and makes the set fetch again (see
// KeySet). Errors wrap ErrInvalidToken.
func (v *Verifier) Verify(token string) (Claims, error) {
	if len(token) > v.cfg.MaxTokenBytes {
		return Claims{}, fmt.Errorf("%w: %w: %d bytes > %d", ErrInvalidToken, ErrTokenTooLarge, len(token), v.cfg.MaxTokenBytes)
	}
	generation := v.generation()
	if c, ok := v.cached(token, generation); ok {
		if time.Now().After(c.Expires.Add(v.cfg.Leeway)) {
			return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrExpired)
		}
		return c, nil
	}
	pc := parsedClaims{roleClaim: v.cfg.RoleClaim}
	t, err := v.parser.ParseWithClaims(token, &pc, v.key)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrExpired)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrNotYetValid)
	case err != nil:
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	role, err := pc.role(t.Method.Alg(), v.cfg.AdminRole)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	c := Claims{Sub: pc.Subject, Name: pc.Name, Role: role, Expires: pc.ExpiresAt.Time}
	v.remember(token, cacheEntry{claims: c, generation: generation})
	return c, nil
}

// generation is the key set's, or 0 without one.
func (v *Verifier) generation() uint64 {
	if v.cfg.KeySet == nil {
		return 0
	}
	return v.cfg.KeySet.generation()
}

func (v *Verifier) cached(token string, generation uint64) (Claims, bool) {
	v.cache.Lock()
	defer v.cache.Unlock()
	e, ok := v.cache.entries[token]
	return e.claims, ok && e.generation == generation
}

func (v *Verifier) remember(token string, e cacheEntry) {
	if v.cfg.CacheSize < 0 {
		return
	}
	v.cache.Lock()
	defer v.cache.Unlock()
	if _, ok := v.cache.entries[token]; !ok && len(v.cache.entries) >= v.cfg.CacheSize {
		for old := range v.cache.entries {
			delete(v.cache.entries, old)
			break
		}
	}
	v.cache.entries[token] = e
}

// key returns to the parser the keys that may verify t: the secret for
// HS256, else the public keys of t's algorithm and, from the key set,
// those of t's kid. The parser has already refused the algorithms of no
// configured key (WithValidMethods); selecting keys by algorithm again
// keeps any key from ever serving another algorithm.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515, 4.1.11: extensions the verifier does not understand
		// make the token invalid, and danmu understands none.
		return nil, errors.New("crit header: no extension is understood")
	}
	alg := t.Method.Alg()
	if alg == algHS256 {
		if len(v.cfg.Secret) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrUnknownKey, alg)
		}
		return v.cfg.Secret, nil
	}
	kid := ""
	if raw, ok := t.Header["kid"]; ok {
		if kid, ok = raw.(string); !ok {
			return nil, errors.New("kid is not a string")
		}
	}
	keys := appendMatching(nil, v.publicKeys, "", alg)
	if v.cfg.KeySet != nil {
		keys = v.cfg.KeySet.appendKeys(keys, kid, alg)
	}
	switch len(keys) {
	case 0:
		return nil, fmt.Errorf("%w: %s, kid %q", ErrUnknownKey, alg, kid)
	case 1:
		return keys[0], nil
	}
	return jwt.VerificationKeySet{Keys: keys}, nil
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
