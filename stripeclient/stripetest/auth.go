package stripetest

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
)

// scope is what a request may see: objects of one mode on one account.
type scope struct {
	livemode bool
	account  string // Stripe-Account; "" is the key's own account
}

var (
	secretKeyRE      = regexp.MustCompile(`^(sk|rk)_(test|live)_[A-Za-z0-9]+$`)
	publishableKeyRE = regexp.MustCompile(`^pk_(test|live)_[A-Za-z0-9]+$`)
	accountRE        = regexp.MustCompile(`^acct_[A-Za-z0-9]+$`)
)

// publishableKey is the emulator's publishable key, the one a page gives
// Stripe.js. Any well-formed pk_test_ key works as well.
const publishableKey = "pk_test_stripetestEmulator"

// PublishableKey is a publishable key (pk_test_…) for the emulator's own
// account, for pages that load Stripe.js (GET /v3/) against it. Like the
// secret keys, publishable keys are accepted by shape, and both kinds see
// the same objects: a PaymentMethod a browser made with this key can be
// charged with any sk_test_ key.
func (s *Server) PublishableKey() string { return publishableKey }

// authenticate checks the API key and the Stripe-Account header the way
// Stripe does and returns the key, the scope the request runs in, and
// whether the key is publishable (which only the endpoints Stripe.js calls
// accept; see endpoint.publishable). Keys are accepted by shape: any
// well-formed secret, restricted or publishable key works, so tests need
// no key set-up. A Stripe-Account must name a connected account
// (accounts.go).
func (s *Server) authenticate(r *http.Request) (string, scope, bool, *apiError) {
	key, ok := apiKey(r)
	if !ok || key == "" {
		return "", scope{}, false, invalidRequest(http.StatusUnauthorized, "", "",
			"You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.")
	}
	publishable := publishableKeyRE.MatchString(key)
	if !publishable && !secretKeyRE.MatchString(key) {
		return "", scope{}, false, invalidRequest(http.StatusUnauthorized, "", "",
			"Invalid API Key provided: %s", maskKey(key))
	}
	sc := scope{livemode: strings.Contains(key, "_live_")}
	if acct := r.Header.Get("Stripe-Account"); acct != "" {
		if !accountRE.MatchString(acct) {
			return "", scope{}, false, noAccess(key, acct, "account_invalid")
		}
		if aerr := s.checkAccount(key, acct); aerr != nil {
			return "", scope{}, false, aerr
		}
		sc.account = acct
	}
	return key, sc, publishable, nil
}

// secretKeyRequired is Stripe's refusal of a publishable key on an
// endpoint that needs a secret one.
func secretKeyRequired() *apiError {
	return invalidRequest(http.StatusUnauthorized, "secret_key_required", "",
		"This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.")
}

// apiKey reads the key from Bearer auth, or from Basic auth's user name as
// curl -u sends it.
func apiKey(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok {
		return "", false
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.TrimSpace(cred), true
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return "", false
		}
		user, _, _ := strings.Cut(string(raw), ":")
		return user, true
	}
	return "", false
}

var keyPrefixRE = regexp.MustCompile(`^(sk|rk|pk)_(test|live)_`)

// maskKey shows a key as Stripe does in errors: its prefix and last four
// characters only.
func maskKey(key string) string {
	prefix := keyPrefixRE.FindString(key)
	if len(key)-len(prefix) < 8 {
		return prefix + "****"
	}
	return prefix + "****" + key[len(key)-4:]
}

// sees reports whether an object of account and mode is visible in sc.
func (sc scope) sees(account string, livemode bool) bool {
	return sc.account == account && sc.livemode == livemode
}
