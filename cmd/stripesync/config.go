package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/stripeclient"
)

// Config is the daemon's whole configuration, read from the environment and
// the command line by loadConfig. docs/SPEC.md §7 lists the variables.
type Config struct {
	DatabaseURL string // STRIPESYNC_DATABASE_URL: sqlite:PATH or postgres://…
	// DBWait is how long serve keeps trying to open and migrate a
	// database that is not available yet (STRIPESYNC_DB_WAIT, 60s; 0
	// tries once), answering /healthz meanwhile, before it gives up and
	// exits 1. A daemon started with its database (a compose file, a pod
	// beside a Postgres that is still starting) then waits for it instead
	// of exiting at once into a supervisor's restart loop.
	DBWait time.Duration
	Listen string // STRIPESYNC_LISTEN: host:port of the HTTP server
	// PprofListen is a loopback host:port that serves Go's profiles
	// (net/http/pprof) apart from the API (STRIPESYNC_PPROF_LISTEN); ""
	// turns it off. It is how an operator profiles the daemon under real
	// load without a rebuild; the profiles name code, never secrets, but
	// they are not for the network.
	PprofListen string
	PublicURL   string // STRIPESYNC_PUBLIC_URL: base of customer links, no trailing slash

	StripeKey           string  // STRIPE_SECRET_KEY: sk_… or rk_…; secret
	StripeAPIBase       string  // STRIPE_API_BASE: "" means Stripe's
	StripeWebhookSecret string  // STRIPE_WEBHOOK_SECRET: whsec_…; secret
	StripeAccount       string  // STRIPE_ACCOUNT: acct_… for direct charges, "" for none
	StripeRate          float64 // STRIPESYNC_STRIPE_RATE: requests per second; 0 means by key mode
	// StripePublishableKey (STRIPE_PUBLISHABLE_KEY, pk_…) starts
	// Stripe.js on the staff console's card form, loaded from
	// StripeJSURL (STRIPE_JS_URL, Stripe's by default); "" turns new
	// cards in the console off. Not a secret: every browser sees it.
	StripePublishableKey string
	StripeJSURL          string
	// CheckStripeAccount is set by loadConfig when STRIPE_ACCOUNT is set
	// and the command uses Stripe (Needs.Stripe): the app then checks the
	// account at start (checkStripeAccount).
	CheckStripeAccount bool

	SalesforceLoginURL       string // SALESFORCE_LOGIN_URL
	SalesforceClientID       string // SALESFORCE_CLIENT_ID: the connected app's consumer key
	SalesforceClientSecret   string // SALESFORCE_CLIENT_SECRET: client-credentials flow; secret
	SalesforceUsername       string // SALESFORCE_USERNAME: JWT bearer flow
	SalesforcePrivateKeyFile string // SALESFORCE_PRIVATE_KEY_FILE: JWT bearer flow, PEM
	SalesforceAPIVersion     string // SALESFORCE_API_VERSION, e.g. "62.0"
	SalesforceOrgID          string // SALESFORCE_ORG_ID: 18-character 00D… id
	MappingFile              string // STRIPESYNC_MAPPING_FILE: CRM field names; "" means the defaults

	TriggerSecret   string // STRIPESYNC_TRIGGER_SECRET: HMAC key and outbound-message path secret; secret
	StaffTokensFile string // STRIPESYNC_STAFF_TOKENS_FILE: "" turns the staff API off
	SMTPURL         string // STRIPESYNC_SMTP_URL: smtp:// or smtps://, may hold a password; "" turns mail off
	MailFrom        string // STRIPESYNC_MAIL_FROM
	// OpsEmail receives the digest of payment failures
	// (STRIPESYNC_OPS_EMAIL); "" sends none (the inbox still fills).
	OpsEmail string
	// SigningKey signs receipt download links and payment and portal
	// links (STRIPESYNC_SIGNING_KEY, at least 32 characters); "" makes
	// serve sign receipt links with a random key per process, so they do
	// not survive a restart, and turns payment links off. Secret.
	SigningKey string
	// LinkTTL is how long payment and portal links work
	// (STRIPESYNC_LINK_TTL). Links are signed with SigningKey and are off
	// without it.
	LinkTTL time.Duration
	// HTTPReadTimeout bounds the time a client may take to send one
	// request, headers and body (STRIPESYNC_HTTP_READ_TIMEOUT, 30s):
	// Stripe and Salesforce send theirs at once, and a client trickling
	// a body must not hold a connection for ever.
	HTTPReadTimeout time.Duration
	// HTTPMaxConns and HTTPMaxConnsPerClient cap the connections serve
	// holds, in all (STRIPESYNC_HTTP_MAX_CONNS, 4096) and from one IP
	// address (STRIPESYNC_HTTP_MAX_CONNS_PER_CLIENT, 128); 0 turns a cap
	// off. A connection over a cap is closed at once, so that one client
	// cannot hold the slots Stripe's and Salesforce's deliveries need.
	// Behind a proxy every connection comes from its address: raise the
	// per-client cap there, or turn it off.
	HTTPMaxConns          int
	HTTPMaxConnsPerClient int
	// AutoPaymentLinks issues a payment link for every invoice with a
	// balance due that the invoice pull reads while the CRM holds none
	// (STRIPESYNC_AUTO_PAYMENT_LINKS).
	AutoPaymentLinks bool
	// MOTO flags the card payments staff take over the phone as
	// mail-order/telephone orders (STRIPESYNC_MOTO), which Stripe exempts
	// from 3-D Secure; the Stripe account must have MOTO enabled.
	MOTO            bool
	BusinessName    string   // STRIPESYNC_BUSINESS_NAME: the seller on receipts
	BusinessAddress []string // STRIPESYNC_BUSINESS_ADDRESS: lines separated by "|"

	// AutoPayHour and AutoPayMinute are when the daily auto-pay runs
	// (STRIPESYNC_AUTOPAY_AT, 06:00) in Timezone (STRIPESYNC_TIMEZONE,
	// UTC, an IANA name checked at load), where "today" is too. AutoPayRetry is when a soft decline is
	// tried again after the first attempt (STRIPESYNC_AUTOPAY_RETRY,
	// 1d,3d,7d); AutoPaySendLink e-mails a payment link when auto-pay
	// gives up (STRIPESYNC_AUTOPAY_SEND_LINK_ON_FAILURE).
	AutoPayHour, AutoPayMinute int
	Timezone                   string
	AutoPayRetry               []time.Duration
	AutoPaySendLink            bool

	AccountSyncEvery time.Duration // STRIPESYNC_ACCOUNT_SYNC_EVERY
	PaymentSyncEvery time.Duration // STRIPESYNC_PAYMENT_SYNC_EVERY
	ReconcileEvery   time.Duration // STRIPESYNC_RECONCILE_EVERY; 0: no scheduled reconcile
	// EventRetention is how long processed Stripe events and settled CRM
	// triggers are remembered, as the inboxes' de-duplication memory,
	// before the daily prune deletes them (STRIPESYNC_EVENT_RETENTION, at
	// least minEventRetention).
	EventRetention time.Duration

	LogFormat string // STRIPESYNC_LOG_FORMAT: "json" or "text"
	LogLevel  string // STRIPESYNC_LOG_LEVEL: debug, info, warn or error
}

// Needs says which upstream credentials a command cannot run without.
// Credentials that are set are checked either way.
type Needs struct {
	Stripe     bool
	Salesforce bool
}

// ConfigError lists every configuration problem found, so that an operator
// fixes them in one go rather than one restart at a time. main answers it
// with exit code 2. Problems never quote a secret.
type ConfigError struct {
	Problems []string
	err      error // errors.Join of the problems, for errors.Is/As
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("configuration: ")
		b.WriteString(p)
	}
	return b.String()
}

func (e *ConfigError) Unwrap() error { return e.err }

// setting is one configuration value: where it comes from and where it
// goes. Settings without a flag are secrets, which are read only from the
// environment so that they never appear in a process listing.
type setting struct {
	env, flag, def, usage string
	dst                   *string
}

// loadConfig reads the configuration with the precedence flag > environment
// > default. It registers its flags on fs and parses args with it; positional
// arguments are left in fs.Args(). A bad flag is a usage error; every other
// problem is reported together in a *ConfigError.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string, needs Needs) (Config, error) {
	var c Config
	var reconcileEvery string
	var rate, accountEvery, paymentEvery, retention, address, linkTTL, autoLinks, moto, readTimeout, maxConns, maxConnsPerClient, dbWait string
	var autoPayAt, timezone, autoPayRetry, autoPayLink string
	settings := []setting{
		{"STRIPESYNC_DATABASE_URL", "database-url", "sqlite:stripesync.db", "database, sqlite:PATH or postgres://…", &c.DatabaseURL},
		{"STRIPESYNC_DB_WAIT", "db-wait", "60s", "how long serve waits for an unavailable database at start before it exits; 0 tries once", &dbWait},
		{"STRIPESYNC_LISTEN", "listen", "127.0.0.1:8080", "HTTP listen address", &c.Listen},
		{"STRIPESYNC_PPROF_LISTEN", "pprof-listen", "", "loopback host:port serving Go profiles (net/http/pprof); empty turns it off", &c.PprofListen},
		{"STRIPESYNC_HTTP_READ_TIMEOUT", "http-read-timeout", "30s", "how long a client may take to send a whole request, headers and body", &readTimeout},
		{"STRIPESYNC_HTTP_MAX_CONNS", "http-max-conns", "4096", "most HTTP connections held at once; 0 means no cap", &maxConns},
		{"STRIPESYNC_HTTP_MAX_CONNS_PER_CLIENT", "http-max-conns-per-client", "128", "most HTTP connections held from one IP address; 0 means no cap", &maxConnsPerClient},
		{"STRIPESYNC_PUBLIC_URL", "public-url", "", "base URL of links sent to customers (default http:// + listen address)", &c.PublicURL},
		{"STRIPE_SECRET_KEY", "", "", "", &c.StripeKey},
		{"STRIPE_API_BASE", "stripe-api-base", "", "Stripe API base URL (emulator, stripe-mock); empty means Stripe's", &c.StripeAPIBase},
		{"STRIPE_WEBHOOK_SECRET", "", "", "", &c.StripeWebhookSecret},
		{"STRIPE_ACCOUNT", "stripe-account", "", "connected account acct_… for direct charges", &c.StripeAccount},
		{"STRIPE_PUBLISHABLE_KEY", "stripe-publishable-key", "", "publishable key pk_… the staff console's card form starts Stripe.js with; empty turns new cards off", &c.StripePublishableKey},
		{"STRIPE_JS_URL", "stripe-js-url", "https://js.stripe.com/v3/", "where the staff console loads Stripe.js from", &c.StripeJSURL},
		{"STRIPESYNC_STRIPE_RATE", "stripe-rate", "", "Stripe requests per second; empty or 0 means by key mode", &rate},
		{"SALESFORCE_LOGIN_URL", "salesforce-login-url", "https://login.salesforce.com", "Salesforce token endpoint host (My Domain)", &c.SalesforceLoginURL},
		{"SALESFORCE_CLIENT_ID", "salesforce-client-id", "", "connected app consumer key", &c.SalesforceClientID},
		{"SALESFORCE_CLIENT_SECRET", "", "", "", &c.SalesforceClientSecret},
		{"SALESFORCE_USERNAME", "salesforce-username", "", "user for the JWT bearer flow", &c.SalesforceUsername},
		{"SALESFORCE_PRIVATE_KEY_FILE", "salesforce-private-key-file", "", "PEM private key for the JWT bearer flow", &c.SalesforcePrivateKeyFile},
		{"SALESFORCE_API_VERSION", "salesforce-api-version", "62.0", "Salesforce REST API version", &c.SalesforceAPIVersion},
		{"SALESFORCE_ORG_ID", "salesforce-org-id", "", "18-character org id outbound messages must carry", &c.SalesforceOrgID},
		{"STRIPESYNC_MAPPING_FILE", "mapping-file", "", "CRM object and field mapping file", &c.MappingFile},
		{"STRIPESYNC_TRIGGER_SECRET", "", "", "", &c.TriggerSecret},
		{"STRIPESYNC_STAFF_TOKENS_FILE", "staff-tokens-file", "", "staff bearer tokens; empty turns the staff API off", &c.StaffTokensFile},
		{"STRIPESYNC_SMTP_URL", "", "", "", &c.SMTPURL},
		{"STRIPESYNC_MAIL_FROM", "mail-from", "", "sender address of mail", &c.MailFrom},
		{"STRIPESYNC_OPS_EMAIL", "ops-email", "", "address the digest of payment failures is mailed to (needs STRIPESYNC_SMTP_URL)", &c.OpsEmail},
		{"STRIPESYNC_SIGNING_KEY", "", "", "", &c.SigningKey},
		{"STRIPESYNC_LINK_TTL", "link-ttl", "720h", "how long payment and portal links work", &linkTTL},
		{"STRIPESYNC_AUTO_PAYMENT_LINKS", "auto-payment-links", "true", "issue a payment link for each invoice with a balance due that the CRM shows without one", &autoLinks},
		{"STRIPESYNC_MOTO", "moto", "false", "flag staff phone card payments as MOTO (the Stripe account must have it enabled)", &moto},
		{"STRIPESYNC_BUSINESS_NAME", "business-name", "", "the seller's name printed on receipts", &c.BusinessName},
		{"STRIPESYNC_BUSINESS_ADDRESS", "business-address", "", "the seller's address on receipts, lines separated by |", &address},
		{"STRIPESYNC_AUTOPAY_AT", "autopay-at", "06:00", "time of day (HH:MM, in STRIPESYNC_TIMEZONE) of the daily auto-pay run", &autoPayAt},
		{"STRIPESYNC_TIMEZONE", "timezone", "UTC", "IANA time zone of the auto-pay time and of the day invoices fall due", &timezone},
		{"STRIPESYNC_AUTOPAY_RETRY", "autopay-retry", "1d,3d,7d", "when soft auto-pay declines are tried again, after the first attempt", &autoPayRetry},
		{"STRIPESYNC_AUTOPAY_SEND_LINK_ON_FAILURE", "autopay-send-link-on-failure", "false", "e-mail the customer a payment link when auto-pay gives up", &autoPayLink},
		{"STRIPESYNC_ACCOUNT_SYNC_EVERY", "account-sync-every", "1h", "interval of the account push", &accountEvery},
		{"STRIPESYNC_PAYMENT_SYNC_EVERY", "payment-sync-every", "15m", "interval of the payment pull", &paymentEvery},
		{"STRIPESYNC_RECONCILE_EVERY", "reconcile-every", "168h", "interval of the scheduled reconcile (report only, no repair); 0 turns it off", &reconcileEvery},
		{"STRIPESYNC_EVENT_RETENTION", "event-retention", "720h", "how long processed Stripe events and settled CRM triggers are kept, at least 96h", &retention},
		{"STRIPESYNC_LOG_FORMAT", "log-format", "json", "log format, json or text", &c.LogFormat},
		{"STRIPESYNC_LOG_LEVEL", "log-level", "info", "log level: debug, info, warn or error", &c.LogLevel},
	}
	flags := map[string]*string{}
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		usage := s.usage + " (env " + s.env
		if s.def != "" {
			usage += ", default " + s.def
		}
		flags[s.flag] = fs.String(s.flag, "", usage+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("%w: %w", errUsage, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	// source names where each value came from, so that a problem points at
	// what the operator has to change.
	source := map[*string]string{}
	for _, s := range settings {
		v, src := s.def, s.env
		if env := strings.TrimSpace(getenv(s.env)); env != "" {
			v = env
		}
		if s.flag != "" && given[s.flag] {
			v, src = strings.TrimSpace(*flags[s.flag]), "-"+s.flag
		}
		*s.dst, source[s.dst] = v, src
	}

	var p problems
	if c.PublicURL == "" {
		c.PublicURL = defaultPublicURL(c.Listen)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	c.StripeRate = parseRate(&p, source[&rate], rate)
	c.AccountSyncEvery = parseInterval(&p, source[&accountEvery], accountEvery)
	c.PaymentSyncEvery = parseInterval(&p, source[&paymentEvery], paymentEvery)
	c.ReconcileEvery = parseZeroable(&p, source[&reconcileEvery], reconcileEvery, "168h", "no scheduled reconcile")
	c.EventRetention = parseRetention(&p, source[&retention], retention)
	c.LinkTTL = parseInterval(&p, source[&linkTTL], linkTTL)
	c.HTTPReadTimeout = parseInterval(&p, source[&readTimeout], readTimeout)
	c.HTTPMaxConns = parseCount(&p, source[&maxConns], maxConns)
	c.HTTPMaxConnsPerClient = parseCount(&p, source[&maxConnsPerClient], maxConnsPerClient)
	c.DBWait = parseZeroable(&p, source[&dbWait], dbWait, "30s, 2m", "no wait")
	c.AutoPaymentLinks = parseBool(&p, source[&autoLinks], autoLinks)
	c.MOTO = parseBool(&p, source[&moto], moto)
	c.AutoPaySendLink = parseBool(&p, source[&autoPayLink], autoPayLink)
	c.AutoPayHour, c.AutoPayMinute = parseTimeOfDay(&p, source[&autoPayAt], autoPayAt)
	c.AutoPayRetry = parseRetries(&p, source[&autoPayRetry], autoPayRetry)
	if _, err := time.LoadLocation(timezone); err != nil {
		p.add("%s: %q is not a time zone (an IANA name such as America/New_York, or UTC)", source[&timezone], timezone)
	}
	c.Timezone = timezone
	for _, line := range strings.Split(address, "|") {
		if line = strings.TrimSpace(line); line != "" {
			c.BusinessAddress = append(c.BusinessAddress, line)
		}
	}
	c.validate(&p, needs, func(field *string) string { return source[field] })
	if len(p.list) > 0 {
		return Config{}, &ConfigError{Problems: p.list, err: errors.Join(p.errs...)}
	}
	c.CheckStripeAccount = needs.Stripe && c.StripeAccount != ""
	return c, nil
}

// problems collects configuration problems.
type problems struct {
	list []string
	errs []error
}

func (p *problems) add(format string, args ...any) {
	err := fmt.Errorf(format, args...)
	p.list = append(p.list, err.Error())
	p.errs = append(p.errs, err)
}

// defaultPublicURL is http:// + listen, with a wildcard host (":8080",
// "0.0.0.0:8080") replaced by localhost, which a browser can open. It is ""
// when listen is not host:port.
func defaultPublicURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || !validPort(port) {
		return ""
	}
	if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func parseBool(p *problems, name, raw string) bool {
	b, err := strconv.ParseBool(raw)
	if err != nil {
		p.add("%s: %q is not true or false", name, raw)
	}
	return b
}

func parseRate(p *problems, name, raw string) float64 {
	if raw == "" {
		return 0
	}
	r, err := strconv.ParseFloat(raw, 64)
	switch {
	case err != nil:
		p.add("%s: %q is not a number of requests per second", name, raw)
	case r < 0 || math.IsNaN(r) || math.IsInf(r, 0):
		p.add("%s: %q must be 0 (by key mode) or a positive number of requests per second", name, raw)
	default:
		return r
	}
	return 0
}

// parseCount reads a cap: a whole number, 0 for none.
// parseTimeOfDay reads HH:MM, 24-hour.
func parseTimeOfDay(p *problems, name, raw string) (hour, minute int) {
	t, err := time.Parse("15:04", raw)
	if err != nil {
		p.add("%s: %q is not a time of day such as 06:00", name, raw)
		return 0, 0
	}
	return t.Hour(), t.Minute()
}

// parseRetries reads a comma-separated list of growing delays, each a Go
// duration or a number of days ("3d").
func parseRetries(p *problems, name, raw string) []time.Duration {
	var out []time.Duration
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		var d time.Duration
		var err error
		if days, ok := strings.CutSuffix(part, "d"); ok {
			var n int
			n, err = strconv.Atoi(days)
			d = time.Duration(n) * 24 * time.Hour
		} else {
			d, err = time.ParseDuration(part)
		}
		if err != nil || d <= 0 || (len(out) > 0 && d <= out[len(out)-1]) {
			p.add("%s: %q is not a list of growing delays such as 1d,3d,7d", name, raw)
			return nil
		}
		out = append(out, d)
	}
	return out
}

func parseCount(p *problems, name, raw string) int {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		p.add("%s: %q is not a whole number ≥ 0", name, raw)
		return 0
	}
	return n
}

func parseInterval(p *problems, name, raw string) time.Duration {
	d, err := time.ParseDuration(raw)
	switch {
	case err != nil:
		p.add("%s: %q is not a duration (e.g. 15m, 1h)", name, raw)
	case d <= 0:
		p.add("%s: %q must be positive", name, raw)
	}
	return d
}

// parseZeroable reads a duration that may be zero, which means zero (say
// "no wait" or "off"); example shows the form.
func parseZeroable(p *problems, name, raw, example, zero string) time.Duration {
	d, err := time.ParseDuration(raw)
	switch {
	case err != nil:
		p.add("%s: %q is not a duration (e.g. %s; 0 for %s)", name, raw, example, zero)
	case d < 0:
		p.add("%s: %q must not be negative (0 for %s)", name, raw, zero)
	}
	return d
}

// minEventRetention is the shortest STRIPESYNC_EVENT_RETENTION accepted.
// The processed events are the webhook inbox's de-duplication memory, and
// Stripe retries a delivery it did not see acknowledged (a lost response
// included) for up to three days: an event forgotten before that would be
// taken for a new one when it comes again, and applied again. Four days
// outlive the retries by a day, and Salesforce's 24 hours of Outbound
// Message redelivery by far more.
const minEventRetention = 4 * 24 * time.Hour

func parseRetention(p *problems, name, raw string) time.Duration {
	d := parseInterval(p, name, raw)
	if d > 0 && d < minEventRetention {
		p.add("%s: %q is shorter than %gh: Stripe retries a webhook for up to 3 days, and a processed event must be remembered longer",
			name, raw, minEventRetention.Hours())
	}
	return d
}

var (
	apiVersionRe = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)
	orgIDRe      = regexp.MustCompile(`^00D[0-9A-Za-z]{15}$`)
)

// minTriggerSecret is the shortest HMAC key accepted, so that a trigger
// signature cannot be brute-forced.
const minTriggerSecret = 16

// minSigningKey is the shortest receipt-link signing key accepted.
const minSigningKey = 32

// validate adds every problem of c to p. name tells which flag or variable a
// field came from. Messages quote values only when they are not secret.
func (c *Config) validate(p *problems, needs Needs, name func(field *string) string) {
	if err := store.ValidateURL(c.DatabaseURL); err != nil {
		p.add("%s: %s", name(&c.DatabaseURL), stripesync.MessageOf(err))
	}
	if host, port, err := net.SplitHostPort(c.Listen); err != nil || !validPort(port) {
		p.add("%s: %q is not host:port (e.g. 127.0.0.1:8080 or :8080)", name(&c.Listen), c.Listen)
	} else if strings.ContainsAny(host, "/@") {
		p.add("%s: %q has an invalid host", name(&c.Listen), c.Listen)
	}
	if c.PprofListen != "" {
		if host, port, err := net.SplitHostPort(c.PprofListen); err != nil || !validPort(port) || !stripesync.IsLoopbackHost(host) {
			p.add("%s: %q is not a loopback host:port (e.g. 127.0.0.1:6060)", name(&c.PprofListen), c.PprofListen)
		}
	}
	// A public URL left empty could not be derived from a bad listen
	// address, which is reported already.
	if c.PublicURL != "" {
		if err := checkHTTPURL(c.PublicURL); err != nil {
			p.add("%s: %q %v", name(&c.PublicURL), c.PublicURL, err)
		}
	}

	switch {
	case c.StripeKey == "" && needs.Stripe:
		p.add("%s is required (a secret sk_… or restricted rk_… key)", name(&c.StripeKey))
	case c.StripeKey != "":
		// ParseKey's messages show the key only masked.
		if _, err := stripeclient.ParseKey(c.StripeKey); err != nil {
			p.add("%s: %s", name(&c.StripeKey), stripesync.MessageOf(err))
		}
	}
	if c.StripeAPIBase != "" {
		if err := checkHTTPURL(c.StripeAPIBase); err != nil {
			p.add("%s: %q %v", name(&c.StripeAPIBase), c.StripeAPIBase, err)
		}
	}
	c.validatePublishableKey(p, name)
	if err := checkHTTPURL(c.StripeJSURL); err != nil {
		p.add("%s: %q %v", name(&c.StripeJSURL), c.StripeJSURL, err)
	}
	if c.StripeWebhookSecret != "" && !strings.HasPrefix(c.StripeWebhookSecret, "whsec_") {
		p.add("%s does not start with whsec_ (copy the endpoint's signing secret)", name(&c.StripeWebhookSecret))
	}
	if c.StripeAccount != "" && !strings.HasPrefix(c.StripeAccount, "acct_") {
		p.add("%s: %q is not a connected account id (acct_…)", name(&c.StripeAccount), c.StripeAccount)
	}

	c.validateSalesforce(p, needs, name)

	if c.SigningKey != "" && len(c.SigningKey) < minSigningKey {
		p.add("%s is too short: use at least %d random characters", name(&c.SigningKey), minSigningKey)
	}
	if c.TriggerSecret != "" && len(c.TriggerSecret) < minTriggerSecret {
		p.add("%s is too short: use at least %d random characters", name(&c.TriggerSecret), minTriggerSecret)
	}
	for _, f := range []*string{&c.StaffTokensFile, &c.MappingFile} {
		if *f != "" {
			if err := checkReadable(*f); err != nil {
				p.add("%s: %w", name(f), err)
			}
		}
	}
	if c.SMTPURL != "" {
		// The URL holds the SMTP password: describe it, never quote it.
		u, err := url.Parse(c.SMTPURL)
		switch {
		case err != nil:
			p.add("%s is not a URL (want smtp://user:pass@host:port or smtps://…)", name(&c.SMTPURL))
		case u.Scheme != "smtp" && u.Scheme != "smtps":
			p.add("%s must start with smtp:// (STARTTLS) or smtps://", name(&c.SMTPURL))
		case u.Hostname() == "":
			p.add("%s names no host", name(&c.SMTPURL))
		}
		if c.MailFrom == "" {
			p.add("%s is required when %s is set", name(&c.MailFrom), name(&c.SMTPURL))
		}
	}
	for _, f := range []*string{&c.MailFrom, &c.OpsEmail} {
		if *f != "" {
			if _, err := mail.ParseAddress(*f); err != nil {
				p.add("%s: %q is not an e-mail address", name(f), *f)
			}
		}
	}
	if c.OpsEmail != "" && c.SMTPURL == "" {
		p.add("%s needs %s: the failure digest is mailed", name(&c.OpsEmail), name(&c.SMTPURL))
	}

	if c.LogFormat != "json" && c.LogFormat != "text" {
		p.add("%s: %q is not json or text", name(&c.LogFormat), c.LogFormat)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		p.add("%s: %q is not debug, info, warn or error", name(&c.LogLevel), c.LogLevel)
	}
}

// validatePublishableKey checks that the publishable key is one, and of
// the secret key's mode: a test card made with a live key (or the reverse)
// could never be charged.
func (c *Config) validatePublishableKey(p *problems, name func(field *string) string) {
	pk := c.StripePublishableKey
	if pk == "" {
		return
	}
	var mode string
	switch {
	case strings.HasPrefix(pk, "pk_test_"):
		mode = stripeclient.ModeTest
	case strings.HasPrefix(pk, "pk_live_"):
		mode = stripeclient.ModeLive
	default:
		// A secret key pasted here would be sent to every browser:
		// never quote it.
		p.add("%s: %s is not a publishable key (pk_test_… or pk_live_…)", name(&c.StripePublishableKey), stripeclient.MaskKey(pk))
		return
	}
	if secret, err := stripeclient.ParseKey(c.StripeKey); err == nil && secret != mode {
		p.add("%s is a %s key but %s is a %s key: use the pair of one mode", name(&c.StripePublishableKey), mode, name(&c.StripeKey), secret)
	}
}

// validateSalesforce checks the login URL and that one complete OAuth flow
// is configured: client credentials (id + secret) or JWT bearer (id +
// username + private key). Both flows need the consumer key.
func (c *Config) validateSalesforce(p *problems, needs Needs, name func(field *string) string) {
	if err := checkHTTPURL(c.SalesforceLoginURL); err != nil {
		p.add("%s: %q %v", name(&c.SalesforceLoginURL), c.SalesforceLoginURL, err)
	}
	if !apiVersionRe.MatchString(c.SalesforceAPIVersion) {
		p.add("%s: %q is not a version like 62.0", name(&c.SalesforceAPIVersion), c.SalesforceAPIVersion)
	}
	if c.SalesforceOrgID != "" && !orgIDRe.MatchString(c.SalesforceOrgID) {
		p.add("%s: %q is not an 18-character org id (00D…)", name(&c.SalesforceOrgID), c.SalesforceOrgID)
	}
	if c.SalesforcePrivateKeyFile != "" {
		if err := checkReadable(c.SalesforcePrivateKeyFile); err != nil {
			p.add("%s: %w", name(&c.SalesforcePrivateKeyFile), err)
		}
	}
	jwt := c.SalesforceUsername != "" || c.SalesforcePrivateKeyFile != ""
	switch {
	case c.SalesforceUsername != "" && c.SalesforcePrivateKeyFile == "":
		p.add("%s is set but %s is not (the JWT bearer flow needs both)", name(&c.SalesforceUsername), name(&c.SalesforcePrivateKeyFile))
	case c.SalesforceUsername == "" && c.SalesforcePrivateKeyFile != "":
		p.add("%s is set but %s is not (the JWT bearer flow needs both)", name(&c.SalesforcePrivateKeyFile), name(&c.SalesforceUsername))
	case !jwt && c.SalesforceClientSecret == "" && (needs.Salesforce || c.SalesforceClientID != ""):
		p.add("Salesforce credentials are missing: set %s and %s (client credentials), or %s and %s (JWT bearer)",
			name(&c.SalesforceClientID), name(&c.SalesforceClientSecret), name(&c.SalesforceUsername), name(&c.SalesforcePrivateKeyFile))
		return
	}
	if c.SalesforceClientID == "" && (needs.Salesforce || jwt || c.SalesforceClientSecret != "") {
		p.add("%s is required (the connected app's consumer key)", name(&c.SalesforceClientID))
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

// checkHTTPURL reports why s is not an absolute http(s) URL; the caller
// puts the value in front of the reason.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
		return errors.New("is not an http:// or https:// URL")
	case u.Host == "":
		return errors.New("names no host")
	case u.User != nil:
		return errors.New("must not hold credentials")
	}
	return nil
}

// checkReadable reports whether path can be opened for reading, naming the
// path (paths are not secret) and the reason.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		var perr *os.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

// LogValue is the configuration with every secret redacted, for the startup
// log line.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.Duration("db_wait", c.DBWait),
		slog.String("listen", c.Listen),
		slog.String("pprof_listen", c.PprofListen),
		slog.String("public_url", c.PublicURL),
		slog.String("stripe_key", maskKey(c.StripeKey)),
		slog.String("stripe_api_base", c.StripeAPIBase),
		slog.String("stripe_webhook_secret", redact(c.StripeWebhookSecret)),
		slog.String("stripe_account", c.StripeAccount),
		slog.Float64("stripe_rate", c.StripeRate),
		slog.String("stripe_publishable_key", c.StripePublishableKey),
		slog.String("stripe_js_url", c.StripeJSURL),
		slog.String("salesforce_login_url", c.SalesforceLoginURL),
		slog.String("salesforce_client_id", c.SalesforceClientID),
		slog.String("salesforce_client_secret", redact(c.SalesforceClientSecret)),
		slog.String("salesforce_username", c.SalesforceUsername),
		slog.String("salesforce_private_key_file", c.SalesforcePrivateKeyFile),
		slog.String("salesforce_api_version", c.SalesforceAPIVersion),
		slog.String("salesforce_org_id", c.SalesforceOrgID),
		slog.String("mapping_file", c.MappingFile),
		slog.String("trigger_secret", redact(c.TriggerSecret)),
		slog.String("staff_tokens_file", c.StaffTokensFile),
		slog.String("smtp_url", redactURL(c.SMTPURL)),
		slog.String("mail_from", c.MailFrom),
		slog.String("ops_email", c.OpsEmail),
		slog.String("timezone", c.Timezone),
		slog.String("autopay_at", fmt.Sprintf("%02d:%02d", c.AutoPayHour, c.AutoPayMinute)),
		slog.Any("autopay_retry", c.AutoPayRetry),
		slog.Bool("autopay_send_link_on_failure", c.AutoPaySendLink),
		slog.String("signing_key", redact(c.SigningKey)),
		slog.Duration("http_read_timeout", c.HTTPReadTimeout),
		slog.Int("http_max_conns", c.HTTPMaxConns),
		slog.Int("http_max_conns_per_client", c.HTTPMaxConnsPerClient),
		slog.Duration("link_ttl", c.LinkTTL),
		slog.Bool("auto_payment_links", c.AutoPaymentLinks),
		slog.Bool("moto", c.MOTO),
		slog.String("business_name", c.BusinessName),
		slog.Duration("account_sync_every", c.AccountSyncEvery),
		slog.Duration("payment_sync_every", c.PaymentSyncEvery),
		slog.Duration("event_retention", c.EventRetention),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel),
	)
}

// String is the redacted form too, so that printing a Config with %v by
// mistake leaks nothing.
func (c Config) String() string {
	var b strings.Builder
	for i, a := range c.LogValue().Group() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", a.Key, a.Value)
	}
	return b.String()
}

// maskKey is stripeclient.MaskKey, which keeps "" (unset) as it is.
func maskKey(key string) string {
	if key == "" {
		return ""
	}
	return stripeclient.MaskKey(key)
}

// redact shows whether a secret is set, not what it is.
func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}

// secretParams are the query parameters of a URL that carry a credential:
// lib/pq takes a database password as ?password=… as readily as in the
// userinfo, and a client key's passphrase as ?sslpassword=…. Key file
// paths (sslkey, sslcert) name files, not secrets, and are shown.
var secretParams = map[string]bool{"password": true, "sslpassword": true}

// redactURL hides the credentials of a URL (database, SMTP): the password
// of the userinfo and every secretParams value. A value that does not parse
// is hidden whole, as it may still hold one.
func redactURL(s string) string {
	if s == "" || strings.HasPrefix(s, "sqlite:") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "[redacted]"
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			// A query Go cannot read may still be one lib/pq reads.
			u.RawQuery = "[redacted]"
		} else {
			for k := range q {
				if secretParams[strings.ToLower(k)] {
					q[k] = []string{"xxxxx"}
				}
			}
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}
