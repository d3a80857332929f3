package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

// jwkOf returns the JWK of a public key, as an identity provider
// publishes it.
func jwkOf(kid string, key crypto.PublicKey) map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	k := map[string]any{"kid": kid, "use": "sig"}
	switch key := key.(type) {
	case *rsa.PublicKey:
		k["kty"], k["alg"] = "RSA", algRS256
		k["n"], k["e"] = b64(key.N.Bytes()), b64(big.NewInt(int64(key.E)).Bytes())
	case *ecdsa.PublicKey:
		point, err := key.Bytes()
		if err != nil {
			panic(err)
		}
		k["kty"], k["crv"], k["alg"] = "EC", "P-256", algES256
		k["x"], k["y"] = b64(point[1:33]), b64(point[33:])
	case ed25519.PublicKey:
		k["kty"], k["crv"], k["alg"] = "OKP", "Ed25519", algEdDSA
		k["x"] = b64(key)
	default:
		panic("jwkOf: unknown key type")
	}
	return k
}

// keySetJSON returns the JWK Set document of keys, each a JWK.
func keySetJSON(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// with returns a copy of jwk with the members in changes set, or removed
// when their value is nil.
func with(jwk map[string]any, changes map[string]any) map[string]any {
	c := make(map[string]any, len(jwk))
	for k, v := range jwk {
		c[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// TestParseKeySet checks which keys of a set are used and which skipped.
func TestParseKeySet(t *testing.T) {
	rs := jwkOf("r", signer(algRS256, 0).public())
	es := jwkOf("e", signer(algES256, 0).public())
	ed := jwkOf("d", signer(algEdDSA, 0).public())
	p384, small := unusableKeys().p384, unusableKeys().small
	tests := []struct {
		name string
		key  map[string]any
		alg  string // "" when the key is skipped
	}{
		{"RSA", rs, algRS256},
		{"EC", es, algES256},
		{"OKP", ed, algEdDSA},
		{"RSA without alg, use or kid", with(rs, map[string]any{"alg": nil, "use": nil, "kid": nil}), algRS256},
		{"RSA with x5c", with(rs, map[string]any{"x5c": []string{"MIIC..."}, "x5t": "abc"}), algRS256},
		{"RSA with padded members", with(rs, map[string]any{"e": "AQAB="}), algRS256},
		{"key_ops verify", with(es, map[string]any{"key_ops": []string{"verify"}}), algES256},
		{"use enc", with(rs, map[string]any{"use": "enc", "alg": "RSA-OAEP"}), ""},
		{"key_ops encrypt", with(rs, map[string]any{"key_ops": []string{"encrypt"}}), ""},
		{"alg of another type", with(rs, map[string]any{"alg": algES256}), ""},
		{"RS384", with(rs, map[string]any{"alg": "RS384"}), ""},
		{"PS256", with(rs, map[string]any{"alg": "PS256"}), ""},
		{"HS256 oct", map[string]any{"kty": "oct", "kid": "h", "alg": "HS256", "k": "c2VjcmV0"}, ""},
		{"RSA private", with(rs, map[string]any{"d": "AQAB"}), ""},
		{"OKP private", with(ed, map[string]any{"d": "AQAB"}), ""},
		{"P-384", with(jwkOf("p", &p384.PublicKey), map[string]any{"alg": nil}), ""},
		{"EC curve missing", with(es, map[string]any{"crv": nil}), ""},
		{"EC point off the curve", with(es, map[string]any{"y": es["x"]}), ""},
		{"EC x too short", with(es, map[string]any{"x": "AQAB"}), ""},
		{"X25519", with(ed, map[string]any{"crv": "X25519", "alg": nil}), ""},
		{"OKP x too short", with(ed, map[string]any{"x": "AQAB"}), ""},
		{"RSA of 1024 bits", jwkOf("s", &small.PublicKey), ""},
		{"RSA without n", with(rs, map[string]any{"n": nil}), ""},
		{"RSA exponent 1", with(rs, map[string]any{"e": "AQ"}), ""},
		{"RSA exponent of 5 bytes", with(rs, map[string]any{"e": "AQAAAAE"}), ""},
		{"RSA n not base64url", with(rs, map[string]any{"n": "a+b/"}), ""},
		{"kty missing", with(rs, map[string]any{"kty": nil}), ""},
		{"kid a number", with(rs, map[string]any{"kid": 7}), ""},
	}
	for _, tt := range tests {
		// Each key comes second, after a good one: a key skipped costs
		// only itself.
		keys, skipped, err := parseKeySet(keySetJSON(t, ed, tt.key))
		if err != nil {
			t.Errorf("%s: parseKeySet: %v", tt.name, err)
			continue
		}
		switch {
		case tt.alg == "" && (len(keys) != 1 || len(skipped) != 1):
			t.Errorf("%s: %d keys, skipped %q; want it skipped", tt.name, len(keys), skipped)
		case tt.alg != "" && (len(keys) != 2 || len(skipped) != 0 || keys[1].alg != tt.alg):
			t.Errorf("%s: %d keys, skipped %q; want it used for %s", tt.name, len(keys), skipped, tt.alg)
		}
	}
}

func TestParseKeySetRefuses(t *testing.T) {
	ed := jwkOf("d", signer(algEdDSA, 0).public())
	many := make([]map[string]any, MaxKeySetKeys+1)
	for i := range many {
		many[i] = with(ed, map[string]any{"kid": strconv.Itoa(i)})
	}
	for name, doc := range map[string][]byte{
		"empty":          nil,
		"not JSON":       []byte("<html>login</html>"),
		"an array":       []byte(`[` + string(keySetJSON(t, ed)) + `]`),
		"keys an object": []byte(`{"keys":{"kty":"OKP"}}`),
		"no keys":        []byte(`{}`),
		"empty keys":     keySetJSON(t),
		"no usable key":  keySetJSON(t, with(ed, map[string]any{"use": "enc"}), map[string]any{"kty": "oct", "k": "c2VjcmV0"}),
		"too many keys":  keySetJSON(t, many...),
	} {
		keys, _, err := parseKeySet(doc)
		if !errors.Is(err, ErrKeySet) || keys != nil {
			t.Errorf("%s: parseKeySet = %d keys, %v; want ErrKeySet", name, len(keys), err)
		}
	}
	if keys, _, err := parseKeySet(keySetJSON(t, many[:MaxKeySetKeys]...)); err != nil || len(keys) != MaxKeySetKeys {
		t.Errorf("parseKeySet of %d keys = %d keys, %v", MaxKeySetKeys, len(keys), err)
	}
	_, _, err := parseKeySet(keySetJSON(t, with(ed, map[string]any{"use": "enc", "kid": "enc-1"})))
	if err == nil || !strings.Contains(err.Error(), `"enc-1"`) {
		t.Errorf("a set of one unusable key: %v; want the reason, naming its kid", err)
	}
}
