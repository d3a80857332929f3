package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// jwksServer is an identity provider's JWK Set endpoint serving the RSA
// keys set last.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys map[string]*rsa.PublicKey // by kid
}

func startJWKS(t *testing.T, keys map[string]*rsa.PublicKey) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		b64 := base64.RawURLEncoding.EncodeToString
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, key := range s.keys {
			set.Keys = append(set.Keys, map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
				"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(keys map[string]*rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// writePEM writes key to a PEM file of its own and returns its path: a
// private key (a crypto.Signer) as PRIVATE KEY, a public one as PUBLIC KEY.
func writePEM(t *testing.T, key any) string {
	t.Helper()
	block := &pem.Block{Type: "PUBLIC KEY"}
	var err error
	if _, private := key.(crypto.Signer); private {
		block.Type = "PRIVATE KEY"
		block.Bytes, err = x509.MarshalPKCS8PrivateKey(key)
	} else {
		block.Bytes, err = x509.MarshalPKIXPublicKey(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), strings.ToLower(strings.ReplaceAll(block.Type, " ", "-"))+".pem")
	writeFile(t, path, string(pem.EncodeToMemory(block)))
	return path
}

// idpToken returns a token as an identity provider signs it: sub, iss,
// aud, exp and roles, signed with key under kid.
func idpToken(t *testing.T, method jwt.SigningMethod, key crypto.Signer, kid, aud, sub string, roles ...string) string {
	t.Helper()
	token := jwt.NewWithClaims(method, jwt.MapClaims{
		"sub": sub, "iss": "https://idp.test/", "aud": aud, "roles": roles,
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "email": sub + "@example.com",
	})
	if kid != "" {
		token.Header["kid"] = kid
	}
	signed, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// TestJWKS runs serve with the keys of an identity provider, from its
// JWK Set URL and from a PEM file, and checks the HTTP API and the edge
// accept its tokens and refuse forged ones, map its roles, and follow a
// key rotation.
func TestJWKS(t *testing.T) {
	idpKey, forger := newRSAKey(t), newRSAKey(t)
	edPublic, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemFile := writePEM(t, edPublic)
	idp := startJWKS(t, map[string]*rsa.PublicKey{"key-1": &idpKey.PublicKey})

	n := startNode(t, "serve", "--jwks-url", idp.URL, "--jwt-public-key", pemFile,
		"--jwt-issuer", "https://idp.test/", "--jwt-audience", "danmu", "--jwt-role-claim", "roles", "--jwt-admin-role", "moderator",
		"--viewer-tokens")
	const path = "/v1/rooms/r/danmaku"
	rs256 := jwt.SigningMethodRS256
	forgedHS256 := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u1", "iss": "https://idp.test/", "aud": "danmu", "exp": time.Now().Add(time.Hour).Unix()})
	hs256, err := forgedHS256.SignedString(x509.MarshalPKCS1PublicKey(&idpKey.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, body string
		status            int
	}{
		{"RS256 of the key set", idpToken(t, rs256, idpKey, "key-1", "danmu", "u1"), `{"text":"rs256"}`, http.StatusCreated},
		{"EdDSA of the PEM file", idpToken(t, jwt.SigningMethodEdDSA, edKey, "", "danmu", "u2"), `{"text":"eddsa"}`, http.StatusCreated},
		{"admin by the roles claim", idpToken(t, rs256, idpKey, "key-1", "danmu", "mod", "staff", "moderator"), `{"text":"pinned","prio":1}`, http.StatusCreated},
		{"viewer by the roles claim", idpToken(t, rs256, idpKey, "key-1", "danmu", "u3", "staff", "admin"), `{"text":"pinned","prio":1}`, http.StatusForbidden},
		{"forged: another key under the known kid", idpToken(t, rs256, forger, "key-1", "danmu", "u1"), `{"text":"forged"}`, http.StatusUnauthorized},
		{"forged: HS256 keyed with the public key", hs256, `{"text":"forged"}`, http.StatusUnauthorized},
		{"another audience", idpToken(t, rs256, idpKey, "key-1", "other-app", "u1"), `{"text":"elsewhere"}`, http.StatusUnauthorized},
	} {
		if a := send(t, n.apiAddr, http.MethodPost, path, tc.token, tc.body); a.status != tc.status {
			t.Errorf("%s: POST = %+v; want %d", tc.name, a, tc.status)
		}
	}

	// The edge checks viewers' tokens with the same keys.
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	viewer := idpToken(t, rs256, idpKey, "key-1", "danmu", "v1")
	c, _, err := d.Dial("ws://"+n.wsAddr+"/ws?room=r&token="+viewer, nil)
	if err != nil {
		t.Fatalf("dial with an RS256 token: %v", err)
	}
	c.Close()
	forged := idpToken(t, rs256, forger, "key-1", "danmu", "v1")
	if c, resp, err := d.Dial("ws://"+n.wsAddr+"/ws?room=r&token="+forged, nil); err == nil {
		c.Close()
		t.Errorf("dial with a forged token succeeded")
	} else if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("dial with a forged token: %v (%v); want 401", err, resp)
	}

	// The provider rotates to a new key: its first token is refused and
	// makes the node fetch the set again; the next ones pass.
	rotated := newRSAKey(t)
	idp.publish(map[string]*rsa.PublicKey{"key-1": &idpKey.PublicKey, "key-2": &rotated.PublicKey})
	newToken := idpToken(t, rs256, rotated, "key-2", "danmu", "u4")
	waitFor(t, waitTimeout, "a token of the rotated key to be accepted", func() bool {
		return send(t, n.apiAddr, http.MethodPost, path, newToken, `{"text":"rotated"}`).status == http.StatusCreated
	})
}

// TestJWKSStartup checks that a node whose keys cannot be loaded does not
// start, and says why.
func TestJWKSStartup(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>sign in</html>"))
	}))
	defer html.Close()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privateKey := writePEM(t, edKey)
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"--jwks-url", gone.URL}, 1, "--jwks-url"},
		{[]string{"--jwks-url", notFound.URL}, 1, "404"},
		{[]string{"--jwks-url", html.URL}, 1, "not a JWK Set"},
		{[]string{"--jwks-url", "ftp://idp.test/jwks.json"}, 1, "--jwks-url"},
		{[]string{"--jwt-public-key", filepath.Join(t.TempDir(), "missing.pem")}, 1, "--jwt-public-key"},
		{[]string{"--jwt-public-key", privateKey}, 1, "private key"},
		{[]string{"--viewer-tokens"}, 2, "--jwks-url"},
	} {
		args := append(append([]string{"serve"}, testArgs["serve"]...), tc.args...)
		status, _, stderr := runArgs(args...)
		if status != tc.status || !strings.Contains(stderr, tc.want) {
			t.Errorf("danmu serve %s = %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), status, stderr, tc.status, tc.want)
		}
	}
}
