package crm

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

func TestClientCredentialsFlow(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	e.sf.Insert("Account", map[string]any{"Name": "Acme"})
	n := 0
	for a, err := range e.c.Accounts(t.Context(), time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Acme" {
			t.Errorf("Name = %q", a.Name)
		}
		n++
	}
	if n != 1 {
		t.Errorf("got %d accounts, want 1", n)
	}
	// The session is reused across calls.
	if _, err := e.c.Get(t.Context(), "Account", e.sf.Insert("Account", map[string]any{"Name": "b"}), nil); err != nil {
		t.Fatal(err)
	}
	if got := e.sf.Calls().Token; got != 1 {
		t.Errorf("token calls = %d, want 1", got)
	}
}

func TestClientCredentialsRejected(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, func(c *Config) { c.ClientSecret = "wrong-secret-value" })
	_, err := e.c.Get(t.Context(), "Account", "001RO0000000001AAA", nil)
	wantCode(t, err, stripesync.EUNAUTHORIZED)
	if ae := apiErrorOf(t, err); ae.Code != "invalid_client" || ae.Status != 400 {
		t.Errorf("APIError = %+v, want 400 invalid_client", ae)
	}
	if strings.Contains(err.Error(), "wrong-secret-value") || strings.Contains(e.logs.String(), "wrong-secret-value") {
		t.Errorf("secret leaked: %v / %s", err, e.logs.String())
	}
	if got := e.sf.Calls().Token; got != 1 {
		t.Errorf("token calls = %d, want 1 (bad credentials are not retried)", got)
	}
}

func TestTokenEndpointOutageRetried(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	id := seedAccounts(e.sf, 1)[0]
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultHTML503, Times: 2, Path: "/services/oauth2/token"})
	if _, err := e.c.Get(t.Context(), "Account", id, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.sf.Calls().Token; got != 3 {
		t.Errorf("token calls = %d, want 3 (two 503s, then success)", got)
	}
}

func generateKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestJWTBearerFlow(t *testing.T) {
	key := generateKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	opts := crmtest.Options{Username: "bot@example.com", JWTPublicKey: &key.PublicKey}
	e := newEnv(t, opts, func(c *Config) {
		c.ClientSecret = ""
		c.Username = "bot@example.com"
		c.PrivateKey = parsed
	})
	id := e.sf.Insert("Account", map[string]any{"Name": "Acme"})
	r, err := e.c.Get(t.Context(), "Account", id, []string{"Name"})
	if err != nil {
		t.Fatal(err)
	}
	if r.String("Name") != "Acme" {
		t.Errorf("Name = %q", r.String("Name"))
	}

	// A key the org does not trust is refused: EUNAUTHORIZED, not retried.
	bad := newEnv(t, opts, func(c *Config) {
		c.ClientSecret = ""
		c.Username = "bot@example.com"
		c.PrivateKey = generateKey(t)
	})
	_, err = bad.c.Get(t.Context(), "Account", id, nil)
	wantCode(t, err, stripesync.EUNAUTHORIZED)
	if ae := apiErrorOf(t, err); ae.Code != "invalid_grant" {
		t.Errorf("APIError = %+v, want invalid_grant", ae)
	}
	if got := bad.sf.Calls().Token; got != 1 {
		t.Errorf("token calls = %d, want 1", got)
	}
}

func TestParsePrivateKey(t *testing.T) {
	key := generateKey(t)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	tests := []struct {
		name string
		pem  []byte
		ok   bool
	}{
		{"pkcs1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), true},
		{"pkcs8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), true},
		{"ec", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), false},
		{"bad der", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("secret-bytes")}), false},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), false},
		{"no pem", []byte("secret-bytes"), false},
	}
	for _, tt := range tests {
		k, err := ParsePrivateKey(tt.pem)
		if tt.ok {
			if err != nil || !k.Equal(key) {
				t.Errorf("%s: ParsePrivateKey = %v, want the key", tt.name, err)
			}
			continue
		}
		if stripesync.CodeOf(err) != stripesync.EINVALID || strings.Contains(err.Error(), "secret-bytes") {
			t.Errorf("%s: ParsePrivateKey error = %v, want EINVALID without key material", tt.name, err)
		}
	}
}

func TestAudienceFor(t *testing.T) {
	tests := []struct{ login, want string }{
		{"https://login.salesforce.com", "https://login.salesforce.com"},
		{"https://test.salesforce.com", "https://test.salesforce.com"},
		{"https://acme.my.salesforce.com", "https://login.salesforce.com"},
		{"https://acme--dev.sandbox.my.salesforce.com", "https://test.salesforce.com"},
		{"http://127.0.0.1:4000", "http://127.0.0.1:4000"},
	}
	for _, tt := range tests {
		if got := audienceFor(tt.login); got != tt.want {
			t.Errorf("audienceFor(%q) = %q, want %q", tt.login, got, tt.want)
		}
	}
}

// TestAuthenticatorSingleFlight drives the session cache directly: many
// concurrent callers share one fetch, and a stale invalidation cannot drop
// a newer session.
func TestAuthenticatorSingleFlight(t *testing.T) {
	var fetches atomic.Int64
	release := make(chan struct{})
	a := &authenticator{fetch: func(ctx context.Context) (string, string, error) {
		fetches.Add(1)
		<-release
		return "tok", "https://instance.example", nil
	}}
	var wg sync.WaitGroup
	sessions := make([]*session, 32)
	for i := range sessions {
		wg.Go(func() {
			s, err := a.session(t.Context())
			if err != nil {
				t.Error(err)
			}
			sessions[i] = s
		})
	}
	close(release)
	wg.Wait()
	if got := fetches.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1", got)
	}
	first := sessions[0]
	for _, s := range sessions {
		if s != first {
			t.Fatal("callers got different sessions")
		}
	}
	a.invalidate(first.gen)
	second, _ := a.session(t.Context())
	a.invalidate(first.gen) // a late 401 from the old token
	third, _ := a.session(t.Context())
	if second.gen != first.gen+1 || third != second || fetches.Load() != 2 {
		t.Errorf("gens %d→%d→%d with %d fetches, want one renewal", first.gen, second.gen, third.gen, fetches.Load())
	}

	// A caller that gives up does not fail the fetch for the others.
	a.invalidate(second.gen)
	block := make(chan struct{})
	a.fetch = func(ctx context.Context) (string, string, error) {
		<-block
		return "tok2", "https://instance.example", ctx.Err()
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := a.session(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Error("cancelled caller got a session")
	}
	close(block)
	s, err := a.session(t.Context())
	if err != nil || s.token != "tok2" {
		t.Errorf("session after a cancelled waiter = %v, %v", s, err)
	}
}
