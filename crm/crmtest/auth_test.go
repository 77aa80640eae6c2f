package crmtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testAssertion signs claims as an RS256 JWT.
func testAssertion(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	body, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signing := enc.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + enc.EncodeToString(body)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

func TestTokenJWTBearer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(t, Options{ClientID: "cid", Username: "bot@example.com", JWTPublicKey: &key.PublicKey})
	w := &wire{t: t, s: s}
	exp := time.Now().Add(3 * time.Minute).Unix()
	good := map[string]any{"iss": "cid", "sub": "bot@example.com", "aud": "https://login.salesforce.com", "exp": exp}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	grant := func(assertion string) (int, map[string]any) {
		status, _, body := w.post("/services/oauth2/token", url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}})
		var got map[string]any
		mustJSON(t, body, &got)
		return status, got
	}

	status, got := grant(testAssertion(t, key, good))
	if status != 200 {
		t.Fatalf("JWT grant: %d %v", status, got)
	}
	if diff := cmp.Diff([]string{"access_token", "id", "instance_url", "scope", "token_type"}, keys(got)); diff != "" {
		t.Errorf("JWT token response keys (-want +got):\n%s", diff)
	}
	// exp as a string (go-salesforce sends it so) and the emulator's own
	// URL as audience (standing in for a My Domain) are accepted.
	if status, got := grant(testAssertion(t, key, with("exp", "9999999999"))); status != 200 {
		t.Errorf("string exp: %d %v", status, got)
	}
	if status, got := grant(testAssertion(t, key, with("aud", s.URL()))); status != 200 {
		t.Errorf("emulator audience: %d %v", status, got)
	}

	for _, tt := range []struct {
		name      string
		assertion string
		wantError string
	}{
		{"wrong key", testAssertion(t, other, good), "invalid_grant"},
		{"expired", testAssertion(t, key, with("exp", time.Now().Add(-time.Minute).Unix())), "invalid_grant"},
		{"wrong subject", testAssertion(t, key, with("sub", "someone@example.com")), "invalid_grant"},
		{"wrong issuer", testAssertion(t, key, with("iss", "other")), "invalid_client_id"},
		{"wrong audience", testAssertion(t, key, with("aud", "https://evil.example")), "invalid_grant"},
		{"garbage", "not.a.jwt", "invalid_grant"},
	} {
		status, got := grant(tt.assertion)
		if status != 400 || got["error"] != tt.wantError {
			t.Errorf("%s: %d %v, want 400 %s", tt.name, status, got, tt.wantError)
		}
	}
}
