package crm

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// Config configures a Client. Credentials pick the OAuth flow: Username
// and PrivateKey select JWT bearer; otherwise ClientID and ClientSecret
// select client credentials.
type Config struct {
	// LoginURL is the token endpoint host: https://login.salesforce.com,
	// https://test.salesforce.com, a My Domain URL or an emulator. Plain
	// http is accepted for loopback hosts only. Default
	// "https://login.salesforce.com".
	LoginURL string
	// ClientID is the connected app's consumer key (both flows).
	ClientID string
	// ClientSecret is the consumer secret (client-credentials flow).
	ClientSecret string
	// Username is the integration user (JWT-bearer flow).
	Username string
	// PrivateKey signs JWT-bearer assertions; see ParsePrivateKey.
	PrivateKey *rsa.PrivateKey
	// Audience is the JWT aud claim. Default: https://test.salesforce.com
	// for test and sandbox hosts, https://login.salesforce.com for other
	// salesforce.com hosts, and LoginURL itself for anything else
	// (emulators).
	Audience string
	// APIVersion is the REST version, "62.0" or "v62.0". Default "62.0".
	APIVersion string
	// HTTPClient sends every request, token requests included. Default: a
	// client with a 2-minute timeout.
	HTTPClient *http.Client
	// Mapping names objects and fields; the zero value means
	// DefaultMapping().
	Mapping Mapping
	// PageSize asks for this many records per query page
	// (Sforce-Query-Options: batchSize, 200–2000); 0 leaves the server
	// default (2000).
	PageSize int
	// MaxRetries bounds the retries of a call that failed transiently
	// (network error, 5xx, HTML error page, UNABLE_TO_LOCK_ROW). 0 means 3;
	// negative disables retries. Re-authentication after
	// INVALID_SESSION_ID is separate and happens at most once per call.
	MaxRetries int
	// RetryBaseDelay is the first backoff; each retry doubles it (up to
	// 10 s) with jitter. Default 250 ms.
	RetryBaseDelay time.Duration
	// Logger receives retries and session renewals. Default: discard.
	Logger *slog.Logger
	// OnCall, when set, observes every REST request (not token requests):
	// outcome is "ok", "client_error", "server_error", "rate_limited"
	// (403 REQUEST_LIMIT_EXCEEDED) or "network_error" (status 0). It must
	// be safe for concurrent use.
	OnCall func(outcome string, status int)
}

const (
	defaultLoginURL   = "https://login.salesforce.com"
	defaultAPIVersion = "62.0"
	defaultRetries    = 3
	defaultRetryDelay = 250 * time.Millisecond
)

var apiVersionRe = regexp.MustCompile(`^v?\d+\.\d$`)

// Validate reports every problem of c at once (EINVALID).
func (c Config) Validate() error {
	var errs []error
	login := c.LoginURL
	if login == "" {
		login = defaultLoginURL
	}
	if u, err := url.Parse(login); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		errs = append(errs, fmt.Errorf("LoginURL %q is not an absolute http(s) URL", login))
	} else if u.Scheme == "http" && !stripesync.IsLoopbackHost(u.Hostname()) {
		errs = append(errs, fmt.Errorf("LoginURL %q must use https (plain http is only for loopback emulators)", login))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("missing ClientID"))
	}
	switch {
	case c.Username != "" && c.PrivateKey == nil:
		errs = append(errs, errors.New("missing PrivateKey to go with Username (JWT-bearer flow)"))
	case c.Username == "" && c.PrivateKey != nil:
		errs = append(errs, errors.New("missing Username to go with PrivateKey (JWT-bearer flow)"))
	case c.Username == "" && c.ClientSecret == "":
		errs = append(errs, errors.New("missing ClientSecret (or Username and PrivateKey for the JWT-bearer flow)"))
	}
	if c.APIVersion != "" && !apiVersionRe.MatchString(c.APIVersion) {
		errs = append(errs, fmt.Errorf("APIVersion %q is not of the form 62.0", c.APIVersion))
	}
	if c.PageSize != 0 && (c.PageSize < 200 || c.PageSize > 2000) {
		errs = append(errs, fmt.Errorf("PageSize %d is outside 200–2000", c.PageSize))
	}
	if c.RetryBaseDelay < 0 {
		errs = append(errs, errors.New("negative RetryBaseDelay"))
	}
	if c.Mapping != (Mapping{}) {
		if err := c.Mapping.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return stripesync.WrapError(stripesync.EINVALID, errors.Join(errs...), "invalid salesforce configuration")
	}
	return nil
}

// withDefaults fills the documented defaults; c must be valid.
func (c Config) withDefaults() Config {
	if c.LoginURL == "" {
		c.LoginURL = defaultLoginURL
	}
	c.LoginURL = strings.TrimSuffix(c.LoginURL, "/")
	if c.Audience == "" {
		c.Audience = audienceFor(c.LoginURL)
	}
	c.APIVersion = strings.TrimPrefix(c.APIVersion, "v")
	if c.APIVersion == "" {
		c.APIVersion = defaultAPIVersion
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.Mapping == (Mapping{}) {
		c.Mapping = DefaultMapping()
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = defaultRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.RetryBaseDelay == 0 {
		c.RetryBaseDelay = defaultRetryDelay
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// audienceFor derives the JWT audience from the login host, as Salesforce
// expects: the sandbox login host for sandboxes, the production one for
// other Salesforce hosts (My Domain included), the URL itself otherwise.
func audienceFor(loginURL string) string {
	u, err := url.Parse(loginURL)
	if err != nil {
		return loginURL
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "test.salesforce.com" || strings.Contains(host, ".sandbox."):
		return "https://test.salesforce.com"
	case host == "salesforce.com" || strings.HasSuffix(host, ".salesforce.com"):
		return "https://login.salesforce.com"
	}
	return loginURL
}
