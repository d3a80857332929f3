package auth

import (
	"encoding/json"
	"testing"
)

// FuzzParseKeySet checks that parsing a JWK Set never panics; that what it
// accepts is a bounded set of keys, each of the one algorithm its type
// allows; and that the accepted keys, published again, parse to the same
// keys. Seeds are sets as identity providers publish them.
func FuzzParseKeySet(f *testing.F) {
	rs := jwkOf("rsa-2024", signer(algRS256, 0).public())
	es := jwkOf("ec-1", signer(algES256, 0).public())
	ed := jwkOf("ed-1", signer(algEdDSA, 0).public())
	for _, seed := range [][]byte{
		keySetJSON(f, rs, es, ed),
		keySetJSON(f, with(rs, map[string]any{"x5c": []string{"MIIC+DCCAeCgAwIBAgIJ"}, "x5t": "nOo3ZDrODXEK1jKWhXslHR_KXEg"})),
		keySetJSON(f, with(rs, map[string]any{"use": "enc", "alg": "RSA-OAEP"}), es),
		keySetJSON(f, map[string]any{"kty": "oct", "k": "c2VjcmV0"}, with(ed, map[string]any{"kid": nil})),
		keySetJSON(f, with(es, map[string]any{"crv": "P-384"})),
		keySetJSON(f),
		[]byte(`{"keys":[{"kty":"RSA","n":"","e":"AQAB"}]}`),
		[]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`),
		[]byte(`{"keys":null}`),
		[]byte(`{"keys":[null,1,"a",[]]}`),
		[]byte(`not json`),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, _, err := parseKeySet(data)
		if err != nil {
			if keys != nil {
				t.Fatalf("parseKeySet(%q) returned %d keys with its error %v", data, len(keys), err)
			}
			return
		}
		if len(keys) == 0 || len(keys) > MaxKeySetKeys {
			t.Fatalf("parseKeySet(%q) accepted %d keys", data, len(keys))
		}
		published := make([]map[string]any, len(keys))
		for i, k := range keys {
			check, err := newVerificationKey(k.kid, k.key)
			if err != nil || check.alg != k.alg {
				t.Fatalf("parseKeySet(%q): key %d (%T) for %s; its type allows %q (%v)", data, i, k.key, k.alg, check.alg, err)
			}
			published[i] = jwkOf(k.kid, k.key)
		}
		again, err := json.Marshal(map[string]any{"keys": published})
		if err != nil {
			t.Fatal(err)
		}
		reparsed, skipped, err := parseKeySet(again)
		if err != nil || len(skipped) > 0 || len(reparsed) != len(keys) {
			t.Fatalf("parseKeySet(%q) round trip: %d keys, skipped %q, %v; want %d keys", again, len(reparsed), skipped, err, len(keys))
		}
		for i := range keys {
			if !keys[i].equal(reparsed[i]) {
				t.Fatalf("parseKeySet(%q) round trip: key %d changed", data, i)
			}
		}
	})
}
