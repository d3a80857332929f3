package main

import (
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/auth"
)

// testSecret is the token secret of the cmd tests.
const testSecret = "cmd-test-secret-of-at-least-32-bytes"

// mintToken runs danmu token with args and returns the token it printed.
func mintToken(t testing.TB, args ...string) string {
	t.Helper()
	status, stdout, stderr := runArgs(append([]string{"token", "--jwt-secret", testSecret}, args...)...)
	if status != 0 || stderr != "" {
		t.Fatalf("danmu token %s = %d, stderr %q", strings.Join(args, " "), status, stderr)
	}
	token, ok := strings.CutSuffix(stdout, "\n")
	if !ok || strings.ContainsAny(token, " \n") {
		t.Fatalf("danmu token printed %q; want one line", stdout)
	}
	return token
}

func TestToken(t *testing.T) {
	v, err := auth.NewVerifier(auth.Config{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	c, err := v.Verify(mintToken(t, "--sub", "u1", "--name", "Alice", "--ttl", "2h", "--role", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sub != "u1" || c.Name != "Alice" || c.Role != auth.RoleAdmin {
		t.Errorf("claims %+v", c)
	}
	if exp := before.Add(2 * time.Hour); c.Expires.Before(exp.Add(-time.Second)) || c.Expires.After(exp.Add(time.Minute)) {
		t.Errorf("expires %v; want about %v", c.Expires, exp)
	}
	c, err = v.Verify(mintToken(t, "--sub", "u2"))
	if err != nil || c.Role != auth.RoleViewer || c.Name != "" {
		t.Errorf("default token: %+v, %v; want a viewer without a name", c, err)
	}

	// The secret, issuer and audience come from the environment too.
	t.Setenv("DANMU_JWT_SECRET", testSecret)
	t.Setenv("DANMU_JWT_ISSUER", "danmu.test")
	status, stdout, stderr := runArgs("token", "--sub", "u3")
	if status != 0 {
		t.Fatalf("danmu token with the secret in the environment = %d %s", status, stderr)
	}
	strict, err := auth.NewVerifier(auth.Config{Secret: []byte(testSecret), Issuer: "danmu.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Verify(strings.TrimSpace(stdout)); err != nil {
		t.Errorf("token minted with DANMU_JWT_ISSUER: %v", err)
	}
}

func TestTokenErrors(t *testing.T) {
	t.Setenv("DANMU_JWT_SECRET", "")
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"--sub", "u1"}, 2, "--jwt-secret"},
		{[]string{"--jwt-secret", testSecret}, 2, "--sub"},
		{[]string{"--jwt-secret", testSecret, "--sub", "a b"}, 2, "--sub"},
		{[]string{"--jwt-secret", testSecret, "--sub", "u1", "--name", strings.Repeat("n", 33)}, 2, "--name"},
		{[]string{"--jwt-secret", testSecret, "--sub", "u1", "--role", "root"}, 2, "--role"},
		{[]string{"--jwt-secret", testSecret, "--sub", "u1", "--ttl", "0s"}, 2, "--ttl"},
		{[]string{"--jwt-secret", testSecret, "--sub", "u1", "--ttl", "soon"}, 2, "ttl"},
		{[]string{"--jwt-secret", "short", "--sub", "u1"}, 1, "secret too short"},
	} {
		status, stdout, stderr := runArgs(append([]string{"token"}, tc.args...)...)
		if status != tc.status || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("danmu token %s = %d, stdout %q, stderr %q; want %d and %q", strings.Join(tc.args, " "), status, stdout, stderr, tc.status, tc.want)
		}
	}
}
