package stripeclient

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"regexp"

	"github.com/stripesync/stripesync"
)

// Config configures a Client. Only Key is required.
type Config struct {
	// Key is a secret (sk_) or restricted (rk_) API key; its prefix sets
	// the mode. A publishable key (pk_) is refused.
	Key string
	// BaseURL is the API base URL; "" means Stripe's (https://api.stripe.com).
	// Set it to point at the stripetest emulator or stripe-mock.
	BaseURL string
	// Account is an optional connected account (acct_…): every request then
	// carries Stripe-Account and acts on that account (Connect direct
	// charges), and its Idempotency-Key is prefixed with the account (see
	// accountKey). Only Client.Account, the platform's read of a connected
	// account, goes without the header.
	Account string
	// HTTPClient sends the requests; nil means a client with an 80 s timeout
	// (stripe-go's default). Its Transport is wrapped, not replaced.
	HTTPClient *http.Client
	// RatePerSecond caps requests per second, counting every attempt. 0
	// means Stripe's limit for the key's mode: 25 in test mode, 100 live.
	RatePerSecond float64
	// MaxRetries is how many times a retryable failure is retried. 0 means
	// 4; a negative value disables retries.
	MaxRetries int
	// Logger receives retries and failures, never secrets; nil discards.
	// The caller names the component (the client adds no "component" key,
	// which would appear twice beside the caller's).
	Logger *slog.Logger
	// OnCall, when set, observes every HTTP attempt for metrics: outcome is
	// "ok", "client_error", "server_error", "rate_limited" or
	// "network_error" (status 0). It must be safe for concurrent use.
	OnCall func(outcome string, status int)
}

// Defaults documented on Config.
const (
	defaultMaxRetries = 4
	defaultTestRate   = 25
	defaultLiveRate   = 100
)

var accountRE = regexp.MustCompile(`^acct_[A-Za-z0-9]+$`)

// Validate reports every problem with c at once (errors.Join of EINVALID
// errors), without revealing the key.
func (c Config) Validate() error {
	var errs []error
	if _, err := ParseKey(c.Key); err != nil {
		errs = append(errs, err)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, stripesync.Errorf(stripesync.EINVALID,
				"Stripe base URL %q must be an absolute http or https URL", c.BaseURL))
		}
	}
	if c.Account != "" && !accountRE.MatchString(c.Account) {
		errs = append(errs, stripesync.Errorf(stripesync.EINVALID,
			"Stripe account %q must look like acct_…", c.Account))
	}
	if c.RatePerSecond < 0 || math.IsNaN(c.RatePerSecond) || math.IsInf(c.RatePerSecond, 0) {
		errs = append(errs, stripesync.Errorf(stripesync.EINVALID,
			"Stripe rate %v must be a positive number of requests per second, or 0 for the default", c.RatePerSecond))
	}
	return errors.Join(errs...)
}
