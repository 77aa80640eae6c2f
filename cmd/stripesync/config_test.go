package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	testKey    = "sk_test_51HxYzAbCdEfGhIjKlMnOpQr7890"
	testSecret = "sf-client-secret-do-not-print"
)

// env turns a map into a getenv function.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// load runs loadConfig on a fresh FlagSet that writes nothing.
func load(t *testing.T, vars map[string]string, args []string, needs Needs) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return loadConfig(fs, args, env(vars), needs)
}

// problemsOf returns the problems of a *ConfigError, failing the test on
// any other outcome.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var cerr *ConfigError
	if !errors.As(err, &cerr) {
		t.Fatalf("err = %v, want a *ConfigError", err)
	}
	return cerr.Problems
}

// with returns a copy of base with the changes applied; "" deletes.
func with(base map[string]string, changes map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range changes {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// valid is a complete environment for a command that needs both services.
var valid = map[string]string{
	"STRIPE_SECRET_KEY":        testKey,
	"SALESFORCE_CLIENT_ID":     "3MVG9consumerkey",
	"SALESFORCE_CLIENT_SECRET": testSecret,
}

var both = Needs{Stripe: true, Salesforce: true}

func TestLoadConfigDefaults(t *testing.T) {
	got, err := load(t, nil, nil, Needs{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DatabaseURL:           "sqlite:stripesync.db",
		DBWait:                time.Minute,
		Listen:                "127.0.0.1:8080",
		PublicURL:             "http://127.0.0.1:8080",
		StripeJSURL:           "https://js.stripe.com/v3/",
		SalesforceLoginURL:    "https://login.salesforce.com",
		SalesforceAPIVersion:  "62.0",
		AccountSyncEvery:      time.Hour,
		PaymentSyncEvery:      15 * time.Minute,
		ReconcileEvery:        168 * time.Hour,
		EventRetention:        30 * 24 * time.Hour,
		LinkTTL:               720 * time.Hour,
		HTTPReadTimeout:       30 * time.Second,
		HTTPMaxConns:          4096,
		HTTPMaxConnsPerClient: 128,
		AutoPaymentLinks:      true,
		AutoPayHour:           6,
		Timezone:              "UTC",
		AutoPayRetry:          []time.Duration{24 * time.Hour, 72 * time.Hour, 168 * time.Hour},
		LogFormat:             "json",
		LogLevel:              "info",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		get  func(Config) any
		want any
	}{
		{"EnvOverDefault", map[string]string{"STRIPESYNC_LISTEN": "0.0.0.0:9000"}, nil,
			func(c Config) any { return c.Listen }, "0.0.0.0:9000"},
		{"FlagOverEnv", map[string]string{"STRIPESYNC_LISTEN": "0.0.0.0:9000"}, []string{"-listen", "127.0.0.1:9100"},
			func(c Config) any { return c.Listen }, "127.0.0.1:9100"},
		{"FlagOverDefault", nil, []string{"-database-url=postgres://db.internal/sync"},
			func(c Config) any { return c.DatabaseURL }, "postgres://db.internal/sync"},
		{"DurationFromEnv", map[string]string{"STRIPESYNC_ACCOUNT_SYNC_EVERY": "5m"}, nil,
			func(c Config) any { return c.AccountSyncEvery }, 5 * time.Minute},
		{"DurationFlagOverEnv", map[string]string{"STRIPESYNC_PAYMENT_SYNC_EVERY": "5m"}, []string{"-payment-sync-every", "30s"},
			func(c Config) any { return c.PaymentSyncEvery }, 30 * time.Second},
		{"RetentionFromEnv", map[string]string{"STRIPESYNC_EVENT_RETENTION": "2160h"}, nil,
			func(c Config) any { return c.EventRetention }, 90 * 24 * time.Hour},
		{"RetentionFlagOverEnv", map[string]string{"STRIPESYNC_EVENT_RETENTION": "2160h"}, []string{"-event-retention", "96h"},
			func(c Config) any { return c.EventRetention }, 96 * time.Hour},
		{"ReconcileOff", map[string]string{"STRIPESYNC_RECONCILE_EVERY": "0"}, nil,
			func(c Config) any { return c.ReconcileEvery }, time.Duration(0)},
		{"DBWaitFromEnv", map[string]string{"STRIPESYNC_DB_WAIT": "5m"}, nil,
			func(c Config) any { return c.DBWait }, 5 * time.Minute},
		{"DBWaitZero", nil, []string{"-db-wait", "0"},
			func(c Config) any { return c.DBWait }, time.Duration(0)},
		{"RateFromEnv", map[string]string{"STRIPESYNC_STRIPE_RATE": "12.5"}, nil,
			func(c Config) any { return c.StripeRate }, 12.5},
		{"RateFlag", map[string]string{"STRIPESYNC_STRIPE_RATE": "12.5"}, []string{"-stripe-rate", "3"},
			func(c Config) any { return c.StripeRate }, 3.0},
		{"EmptyFlagOverridesEnv", map[string]string{"STRIPE_API_BASE": "http://127.0.0.1:12111"}, []string{"-stripe-api-base="},
			func(c Config) any { return c.StripeAPIBase }, ""},
		{"EnvTrimmed", map[string]string{"STRIPESYNC_LOG_LEVEL": " debug\n"}, nil,
			func(c Config) any { return c.LogLevel }, "debug"},
		{"PublicURLFollowsListen", map[string]string{"STRIPESYNC_LISTEN": "10.0.0.5:8443"}, nil,
			func(c Config) any { return c.PublicURL }, "http://10.0.0.5:8443"},
		{"PublicURLOfWildcardListen", nil, []string{"-listen", ":8080"},
			func(c Config) any { return c.PublicURL }, "http://localhost:8080"},
		{"PublicURLTrailingSlash", map[string]string{"STRIPESYNC_PUBLIC_URL": "https://pay.example.com/"}, nil,
			func(c Config) any { return c.PublicURL }, "https://pay.example.com"},
		{"SecretFromEnv", map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_abc"}, nil,
			func(c Config) any { return c.StripeWebhookSecret }, "whsec_abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.env, tt.args, Needs{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.get(c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventRetentionInHelp(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var help bytes.Buffer
	fs.SetOutput(&help)
	if _, err := loadConfig(fs, []string{"-h"}, env(nil), Needs{}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("loadConfig(-h) = %v, want flag.ErrHelp", err)
	}
	want := "-event-retention string\n    \thow long processed Stripe events and settled CRM triggers are kept, at least 96h (env STRIPESYNC_EVENT_RETENTION, default 720h)"
	if !strings.Contains(help.String(), want) {
		t.Errorf("-h output lacks %q:\n%s", want, help.String())
	}
}

func TestLoadConfigLeavesPositionalArgs(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := loadConfig(fs, []string{"-listen", ":9", "retry", "f_12"}, env(nil), Needs{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"retry", "f_12"}, fs.Args()); diff != "" {
		t.Errorf("fs.Args() (-want +got):\n%s", diff)
	}
}

func TestLoadConfigUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-no-such-flag"},
		// Secrets have no flags: they would show in the process list.
		{"-stripe-secret-key", testKey},
	} {
		_, err := load(t, valid, args, both)
		var cerr *ConfigError
		if !errors.Is(err, errUsage) || errors.As(err, &cerr) {
			t.Errorf("loadConfig(%q) = %v, want a usage error", args, err)
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("usage error quotes the key: %v", err)
		}
	}
}

func TestLoadConfigValid(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "sf.pem")
	if err := os.WriteFile(keyFile, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   map[string]string
		needs Needs
	}{
		{"ClientCredentials", valid, both},
		{"JWTBearer", with(valid, map[string]string{
			"SALESFORCE_CLIENT_SECRET": "", "SALESFORCE_USERNAME": "sync@example.com", "SALESFORCE_PRIVATE_KEY_FILE": keyFile,
		}), both},
		{"RestrictedKey", with(valid, map[string]string{"STRIPE_SECRET_KEY": "rk_live_51HxYzAbCdEfGhIjKlMnOpQr7890"}), both},
		{"NothingNeeded", nil, Needs{}},
		{"Everything", with(valid, map[string]string{
			"STRIPESYNC_DATABASE_URL":       "postgres://sync:pw@db:5432/sync?sslmode=require",
			"STRIPESYNC_PUBLIC_URL":         "https://pay.example.com",
			"STRIPE_API_BASE":               "http://127.0.0.1:12111",
			"STRIPE_WEBHOOK_SECRET":         "whsec_0123456789",
			"STRIPE_ACCOUNT":                "acct_1Abc",
			"SALESFORCE_ORG_ID":             "00DD0000000muCUMAY",
			"STRIPESYNC_TRIGGER_SECRET":     "0123456789abcdef0123",
			"STRIPESYNC_STAFF_TOKENS_FILE":  keyFile,
			"STRIPESYNC_MAPPING_FILE":       keyFile,
			"STRIPESYNC_SMTP_URL":           "smtps://mailer:pw@smtp.example.com:465",
			"STRIPESYNC_MAIL_FROM":          "Billing <billing@example.com>",
			"STRIPESYNC_LOG_FORMAT":         "text",
			"STRIPESYNC_LOG_LEVEL":          "warn",
			"STRIPESYNC_ACCOUNT_SYNC_EVERY": "90s",
		}), both},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := load(t, tt.env, nil, tt.needs); err != nil {
				t.Errorf("loadConfig: %v", err)
			}
		})
	}
}

func TestLoadConfigProblems(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		needs Needs
		want  string
	}{
		{"DatabaseScheme", map[string]string{"STRIPESYNC_DATABASE_URL": "mysql://db/x"}, nil, Needs{},
			`STRIPESYNC_DATABASE_URL: database URL scheme "mysql" is not supported (want sqlite:PATH or postgres://…)`},
		{"DatabaseFlagNamed", nil, []string{"-database-url", "sqlite:"}, Needs{},
			`-database-url: database URL sqlite: names no file (want e.g. sqlite:stripesync.db)`},
		{"StripeKeyRequired", with(valid, map[string]string{"STRIPE_SECRET_KEY": ""}), nil, both,
			`STRIPE_SECRET_KEY is required (a secret sk_… or restricted rk_… key)`},
		{"DurationSyntax", map[string]string{"STRIPESYNC_ACCOUNT_SYNC_EVERY": "hourly"}, nil, Needs{},
			`STRIPESYNC_ACCOUNT_SYNC_EVERY: "hourly" is not a duration (e.g. 15m, 1h)`},
		{"DurationNotPositive", nil, []string{"-payment-sync-every", "0s"}, Needs{},
			`-payment-sync-every: "0s" must be positive`},
		{"DurationNegative", map[string]string{"STRIPESYNC_PAYMENT_SYNC_EVERY": "-5m"}, nil, Needs{},
			`STRIPESYNC_PAYMENT_SYNC_EVERY: "-5m" must be positive`},
		{"ConnCapSyntax", map[string]string{"STRIPESYNC_HTTP_MAX_CONNS": "lots"}, nil, Needs{},
			`STRIPESYNC_HTTP_MAX_CONNS: "lots" is not a whole number ≥ 0`},
		{"ConnCapNegative", nil, []string{"-http-max-conns-per-client", "-1"}, Needs{},
			`-http-max-conns-per-client: "-1" is not a whole number ≥ 0`},
		{"RetentionSyntax", map[string]string{"STRIPESYNC_EVENT_RETENTION": "30d"}, nil, Needs{},
			`STRIPESYNC_EVENT_RETENTION: "30d" is not a duration (e.g. 15m, 1h)`},
		{"RetentionNotPositive", nil, []string{"-event-retention", "0s"}, Needs{},
			`-event-retention: "0s" must be positive`},
		{"RetentionNegative", map[string]string{"STRIPESYNC_EVENT_RETENTION": "-720h"}, nil, Needs{},
			`STRIPESYNC_EVENT_RETENTION: "-720h" must be positive`},
		{"RetentionWithinStripeRetries", map[string]string{"STRIPESYNC_EVENT_RETENTION": "72h"}, nil, Needs{},
			`STRIPESYNC_EVENT_RETENTION: "72h" is shorter than 96h: Stripe retries a webhook for up to 3 days, and a processed event must be remembered longer`},
		{"DBWaitSyntax", map[string]string{"STRIPESYNC_DB_WAIT": "60"}, nil, Needs{},
			`STRIPESYNC_DB_WAIT: "60" is not a duration (e.g. 30s, 2m; 0 for no wait)`},
		{"DBWaitNegative", nil, []string{"-db-wait", "-1s"}, Needs{},
			`-db-wait: "-1s" must not be negative (0 for no wait)`},
		{"ReconcileEveryNegative", map[string]string{"STRIPESYNC_RECONCILE_EVERY": "-1h"}, nil, Needs{},
			`STRIPESYNC_RECONCILE_EVERY: "-1h" must not be negative (0 for no scheduled reconcile)`},
		{"RateSyntax", map[string]string{"STRIPESYNC_STRIPE_RATE": "fast"}, nil, Needs{},
			`STRIPESYNC_STRIPE_RATE: "fast" is not a number of requests per second`},
		{"RateNegative", map[string]string{"STRIPESYNC_STRIPE_RATE": "-1"}, nil, Needs{},
			`STRIPESYNC_STRIPE_RATE: "-1" must be 0 (by key mode) or a positive number of requests per second`},
		{"ListenNoPort", map[string]string{"STRIPESYNC_LISTEN": "localhost"}, nil, Needs{},
			`STRIPESYNC_LISTEN: "localhost" is not host:port (e.g. 127.0.0.1:8080 or :8080)`},
		{"ListenBadPort", nil, []string{"-listen", "127.0.0.1:http-alt"}, Needs{},
			`-listen: "127.0.0.1:http-alt" is not host:port (e.g. 127.0.0.1:8080 or :8080)`},
		{"PprofNotLoopback", map[string]string{"STRIPESYNC_PPROF_LISTEN": "0.0.0.0:6060"}, nil, Needs{},
			`STRIPESYNC_PPROF_LISTEN: "0.0.0.0:6060" is not a loopback host:port (e.g. 127.0.0.1:6060)`},
		{"PprofNoPort", nil, []string{"-pprof-listen", "localhost"}, Needs{},
			`-pprof-listen: "localhost" is not a loopback host:port (e.g. 127.0.0.1:6060)`},
		{"PublicURLRelative", map[string]string{"STRIPESYNC_PUBLIC_URL": "pay.example.com"}, nil, Needs{},
			`STRIPESYNC_PUBLIC_URL: "pay.example.com" is not an http:// or https:// URL`},
		{"PublicURLNoHost", map[string]string{"STRIPESYNC_PUBLIC_URL": "https:///pay"}, nil, Needs{},
			`STRIPESYNC_PUBLIC_URL: "https:///pay" names no host`},
		{"StripeAPIBase", map[string]string{"STRIPE_API_BASE": "localhost:12111"}, nil, Needs{},
			`STRIPE_API_BASE: "localhost:12111" is not an http:// or https:// URL`},
		{"WebhookSecret", map[string]string{"STRIPE_WEBHOOK_SECRET": "we_123secret"}, nil, Needs{},
			`STRIPE_WEBHOOK_SECRET does not start with whsec_ (copy the endpoint's signing secret)`},
		{"StripeAccount", map[string]string{"STRIPE_ACCOUNT": "cus_123"}, nil, Needs{},
			`STRIPE_ACCOUNT: "cus_123" is not a connected account id (acct_…)`},
		{"SalesforceCredentialsMissing", map[string]string{"STRIPE_SECRET_KEY": testKey}, nil, both,
			`Salesforce credentials are missing: set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (client credentials), or SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE (JWT bearer)`},
		{"SalesforceClientIDMissing", with(valid, map[string]string{"SALESFORCE_CLIENT_ID": ""}), nil, both,
			`SALESFORCE_CLIENT_ID is required (the connected app's consumer key)`},
		{"SalesforceSecretMissing", map[string]string{"SALESFORCE_CLIENT_ID": "3MVG9"}, nil, Needs{},
			`Salesforce credentials are missing: set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (client credentials), or SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE (JWT bearer)`},
		{"JWTKeyFileMissing", with(valid, map[string]string{"SALESFORCE_CLIENT_SECRET": "", "SALESFORCE_USERNAME": "sync@example.com"}), nil, both,
			`SALESFORCE_USERNAME is set but SALESFORCE_PRIVATE_KEY_FILE is not (the JWT bearer flow needs both)`},
		{"JWTKeyFileUnreadable", with(valid, map[string]string{"SALESFORCE_USERNAME": "sync@example.com", "SALESFORCE_PRIVATE_KEY_FILE": missing}), nil, both,
			`SALESFORCE_PRIVATE_KEY_FILE: cannot read ` + missing + `: no such file or directory`},
		{"JWTKeyFileIsDir", with(valid, map[string]string{"SALESFORCE_USERNAME": "sync@example.com"}), []string{"-salesforce-private-key-file", dir}, both,
			`-salesforce-private-key-file: ` + dir + ` is a directory`},
		{"LoginURL", with(valid, map[string]string{"SALESFORCE_LOGIN_URL": "login.salesforce.com"}), nil, both,
			`SALESFORCE_LOGIN_URL: "login.salesforce.com" is not an http:// or https:// URL`},
		{"APIVersion", map[string]string{"SALESFORCE_API_VERSION": "v62"}, nil, Needs{},
			`SALESFORCE_API_VERSION: "v62" is not a version like 62.0`},
		{"OrgID", map[string]string{"SALESFORCE_ORG_ID": "00DD0000000muCU"}, nil, Needs{},
			`SALESFORCE_ORG_ID: "00DD0000000muCU" is not an 18-character org id (00D…)`},
		{"TriggerSecretShort", map[string]string{"STRIPESYNC_TRIGGER_SECRET": "hunter2"}, nil, Needs{},
			`STRIPESYNC_TRIGGER_SECRET is too short: use at least 16 random characters`},
		{"StaffTokensFile", map[string]string{"STRIPESYNC_STAFF_TOKENS_FILE": missing}, nil, Needs{},
			`STRIPESYNC_STAFF_TOKENS_FILE: cannot read ` + missing + `: no such file or directory`},
		{"MappingFile", nil, []string{"-mapping-file", missing}, Needs{},
			`-mapping-file: cannot read ` + missing + `: no such file or directory`},
		{"SMTPScheme", map[string]string{"STRIPESYNC_SMTP_URL": "http://u:p@mail", "STRIPESYNC_MAIL_FROM": "a@example.com"}, nil, Needs{},
			`STRIPESYNC_SMTP_URL must start with smtp:// (STARTTLS) or smtps://`},
		{"SMTPNoHost", map[string]string{"STRIPESYNC_SMTP_URL": "smtp://", "STRIPESYNC_MAIL_FROM": "a@example.com"}, nil, Needs{},
			`STRIPESYNC_SMTP_URL names no host`},
		{"MailFromRequired", map[string]string{"STRIPESYNC_SMTP_URL": "smtp://mail:587"}, nil, Needs{},
			`STRIPESYNC_MAIL_FROM is required when STRIPESYNC_SMTP_URL is set`},
		{"PublishableKeyIsSecret", map[string]string{"STRIPE_PUBLISHABLE_KEY": "sk_test_51HxYzAbCdEfGhIjKlMnOpQr7890"}, nil, Needs{},
			`STRIPE_PUBLISHABLE_KEY: sk_test_…7890 is not a publishable key (pk_test_… or pk_live_…)`},
		{"PublishableKeyMode", map[string]string{"STRIPE_SECRET_KEY": testKey, "STRIPE_PUBLISHABLE_KEY": "pk_live_51HxYzAbCdEfGhIjKl"}, nil, Needs{},
			`STRIPE_PUBLISHABLE_KEY is a live key but STRIPE_SECRET_KEY is a test key: use the pair of one mode`},
		{"StripeJSURL", map[string]string{"STRIPE_JS_URL": "js.stripe.com/v3"}, nil, Needs{},
			`STRIPE_JS_URL: "js.stripe.com/v3" is not an http:// or https:// URL`},
		{"AutoPayAt", map[string]string{"STRIPESYNC_AUTOPAY_AT": "6am"}, nil, Needs{},
			`STRIPESYNC_AUTOPAY_AT: "6am" is not a time of day such as 06:00`},
		{"Timezone", map[string]string{"STRIPESYNC_TIMEZONE": "Mars/Olympus"}, nil, Needs{},
			`STRIPESYNC_TIMEZONE: "Mars/Olympus" is not a time zone (an IANA name such as America/New_York, or UTC)`},
		{"AutoPayRetry", map[string]string{"STRIPESYNC_AUTOPAY_RETRY": "3d,1d"}, nil, Needs{},
			`STRIPESYNC_AUTOPAY_RETRY: "3d,1d" is not a list of growing delays such as 1d,3d,7d`},
		{"OpsEmailNeedsMail", map[string]string{"STRIPESYNC_OPS_EMAIL": "ops@example.com"}, nil, Needs{},
			`STRIPESYNC_OPS_EMAIL needs STRIPESYNC_SMTP_URL: the failure digest is mailed`},
		{"MailFrom", map[string]string{"STRIPESYNC_MAIL_FROM": "billing at example"}, nil, Needs{},
			`STRIPESYNC_MAIL_FROM: "billing at example" is not an e-mail address`},
		{"LogFormat", map[string]string{"STRIPESYNC_LOG_FORMAT": "xml"}, nil, Needs{},
			`STRIPESYNC_LOG_FORMAT: "xml" is not json or text`},
		{"LogLevel", nil, []string{"-log-level", "verbose"}, Needs{},
			`-log-level: "verbose" is not debug, info, warn or error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.env, tt.args, tt.needs)
			if diff := cmp.Diff([]string{tt.want}, problemsOf(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadConfigPublishableKeyRefused(t *testing.T) {
	pk := "pk_live_51HxYzAbCdEfGhIjKlMnOpQr7890"
	_, err := load(t, with(valid, map[string]string{"STRIPE_SECRET_KEY": pk}), nil, both)
	problems := problemsOf(t, err)
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "STRIPE_SECRET_KEY: Stripe API key pk_live_…7890 is a publishable key") {
		t.Errorf("problems = %q, want one about the masked pk_live_ key", problems)
	}
	if strings.Contains(err.Error(), pk) {
		t.Errorf("error quotes the key: %v", err)
	}
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	_, err := load(t, map[string]string{
		"STRIPESYNC_DATABASE_URL":       "mysql://db/x",
		"STRIPESYNC_LISTEN":             "nope",
		"STRIPESYNC_ACCOUNT_SYNC_EVERY": "soon",
		"STRIPESYNC_STAFF_TOKENS_FILE":  "/no/such/tokens",
		"STRIPESYNC_EVENT_RETENTION":    "24h",
	}, []string{"-log-format", "xml"}, both)
	problems := problemsOf(t, err)
	want := []string{
		`STRIPESYNC_DATABASE_URL: database URL scheme "mysql" is not supported (want sqlite:PATH or postgres://…)`,
		`STRIPESYNC_LISTEN: "nope" is not host:port (e.g. 127.0.0.1:8080 or :8080)`,
		`STRIPESYNC_ACCOUNT_SYNC_EVERY: "soon" is not a duration (e.g. 15m, 1h)`,
		`STRIPE_SECRET_KEY is required (a secret sk_… or restricted rk_… key)`,
		`Salesforce credentials are missing: set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (client credentials), or SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE (JWT bearer)`,
		`STRIPESYNC_STAFF_TOKENS_FILE: cannot read /no/such/tokens: no such file or directory`,
		`-log-format: "xml" is not json or text`,
		`STRIPESYNC_EVENT_RETENTION: "24h" is shorter than 96h: Stripe retries a webhook for up to 3 days, and a processed event must be remembered longer`,
	}
	// Order is not part of the contract; presence of each is.
	if diff := cmp.Diff(want, problems, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Errorf("Error() has %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "configuration: ") {
			t.Errorf("line %q lacks the configuration: prefix", l)
		}
	}
	// The joined problems keep their causes.
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for a missing tokens file")
	}
}

func TestSecretsRedacted(t *testing.T) {
	secrets := map[string]string{
		"STRIPE_SECRET_KEY":         testKey,
		"STRIPE_WEBHOOK_SECRET":     "whsec_webhooksecretvalue",
		"SALESFORCE_CLIENT_SECRET":  testSecret,
		"STRIPESYNC_TRIGGER_SECRET": "trigger-secret-value-0123",
		"STRIPESYNC_DATABASE_URL":   "postgres://sync:dbpassword@db:5432/sync",
		"STRIPESYNC_SMTP_URL":       "smtp://mailer:smtppassword@smtp.example.com:587",
	}
	// The key's body, not its type prefix, is the secret.
	leaks := []string{"51HxYzAbCdEfGhIjKlMnOpQr", "webhooksecretvalue", testSecret, "trigger-secret-value", "dbpassword", "smtppassword"}
	check := func(t *testing.T, what, text string) {
		t.Helper()
		for _, s := range leaks {
			if strings.Contains(text, s) {
				t.Errorf("%s leaks %q:\n%s", what, s, text)
			}
		}
	}

	t.Run("PasswordInTheQuery", func(t *testing.T) {
		c, err := load(t, with(valid, map[string]string{
			"STRIPESYNC_DATABASE_URL": "postgres://sync@db:5432/sync?password=dbquerypassword&sslpassword=dbkeypassphrase",
		}), nil, both)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
		for _, text := range []string{buf.String(), c.String()} {
			for _, leak := range []string{"dbquerypassword", "dbkeypassphrase"} {
				if strings.Contains(text, leak) {
					t.Errorf("the configuration shows %q:\n%s", leak, text)
				}
			}
		}
	})

	t.Run("LogValue", func(t *testing.T) {
		c, err := load(t, with(valid, with(secrets, map[string]string{"STRIPESYNC_MAIL_FROM": "billing@example.com"})), nil, both)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
		check(t, "the startup log", buf.String())
		for _, want := range []string{
			`"stripe_key":"sk_test_…7890"`,
			`"salesforce_client_secret":"[redacted]"`,
			`"database_url":"postgres://sync:xxxxx@db:5432/sync"`,
			`"smtp_url":"smtp://mailer:xxxxx@smtp.example.com:587"`,
			`"account_sync_every":3600000000000`,
			`"event_retention":2592000000000000`,
		} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("startup log lacks %s:\n%s", want, buf.String())
			}
		}
		check(t, "String()", c.String())
		if !strings.Contains(c.String(), "stripe_webhook_secret=[redacted]") {
			t.Errorf("String() = %s", c.String())
		}
	})

	t.Run("Error", func(t *testing.T) {
		// Each secret is malformed in some way, so the messages are about
		// them.
		_, err := load(t, with(secrets, map[string]string{
			"STRIPE_SECRET_KEY":         "pk_" + testKey[3:],
			"STRIPE_WEBHOOK_SECRET":     "webhooksecretvalue",
			"STRIPESYNC_TRIGGER_SECRET": "trigger-secret",
			"STRIPESYNC_DATABASE_URL":   "postgres://sync:dbpassword@db:5432/a/b",
			"STRIPESYNC_SMTP_URL":       "http://mailer:smtppassword@smtp.example.com",
			"SALESFORCE_CLIENT_SECRET":  testSecret,
		}), nil, both)
		if got := len(problemsOf(t, err)); got < 6 {
			t.Errorf("%d problems, want at least 6:\n%v", got, err)
		}
		check(t, "Error()", err.Error())
	})
}

// TestRedactURLHidesEveryCredential: a database or SMTP URL may carry its
// password in the userinfo or, as lib/pq allows, in the query.
func TestRedactURLHidesEveryCredential(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://sync:pw-userinfo@db/sync", "postgres://sync:xxxxx@db/sync"},
		{"postgres://sync@db/sync?password=pw-query", "postgres://sync@db/sync?password=xxxxx"},
		{"postgres://sync@db/sync?PASSWORD=pw-query&sslmode=verify-full", "postgres://sync@db/sync?PASSWORD=xxxxx&sslmode=verify-full"},
		{"postgres://sync@db/sync?sslpassword=pw-sslkey&sslkey=/etc/ssl/client.key", "postgres://sync@db/sync?sslkey=%2Fetc%2Fssl%2Fclient.key&sslpassword=xxxxx"},
		{"postgres://sync:pw-userinfo@db/sync?password=pw-query", "postgres://sync:xxxxx@db/sync?password=xxxxx"},
		{"postgres://sync@db/sync?password=pw-bad%zz", "postgres://sync@db/sync?[redacted]"},
		{"smtp://mailer:pw-smtp@smtp.example.com:587", "smtp://mailer:xxxxx@smtp.example.com:587"},
		{"sqlite:/var/lib/stripesync.db", "sqlite:/var/lib/stripesync.db"},
	}
	for _, tt := range tests {
		got := redactURL(tt.in)
		if got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "pw-") {
			t.Errorf("redactURL(%q) = %q leaks a password", tt.in, got)
		}
	}
}
