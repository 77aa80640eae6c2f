package stripeclient

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripesync/stripesync"
)

// defaultTimeout is stripe-go's own default per-attempt timeout.
const defaultTimeout = 80 * time.Second

// Client is the Stripe adapter. It is safe for concurrent use; all calls
// share one pacer, so the rate limit holds across goroutines.
type Client struct {
	api        *client.API
	mode       string
	maxRetries int
	log        *slog.Logger
	tr         *transport // for Traffic
}

var (
	_ stripesync.Billing   = (*Client)(nil)
	_ stripesync.Collector = (*Client)(nil)
)

// New validates cfg and returns a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mode, _ := ParseKey(cfg.Key)
	perSecond := cfg.RatePerSecond
	if perSecond == 0 {
		perSecond = defaultTestRate
		if mode == ModeLive {
			perSecond = defaultLiveRate
		}
	}
	maxRetries := cfg.MaxRetries
	switch {
	case maxRetries == 0:
		maxRetries = defaultMaxRetries
	case maxRetries < 0:
		maxRetries = 0
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	hc := &http.Client{Timeout: defaultTimeout}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &transport{base: base, pace: newPacer(perSecond), account: cfg.Account, onCall: cfg.OnCall}
	hc.Transport = tr

	backend := func(kind stripe.SupportedBackend) stripe.Backend {
		bc := &stripe.BackendConfig{
			HTTPClient: hc,
			// We log ourselves; the library would print error bodies (and
			// at debug, whole responses) to stderr.
			LeveledLogger:   &stripe.LeveledLogger{Level: stripe.LevelNull},
			EnableTelemetry: stripe.Bool(false),
			// Retries are ours (see call), so that 429s, backoff and the
			// pacer follow one policy.
			MaxNetworkRetries: stripe.Int64(0),
		}
		if cfg.BaseURL != "" {
			bc.URL = stripe.String(cfg.BaseURL)
		}
		return stripe.GetBackendWithConfig(kind, bc)
	}
	api := client.New(cfg.Key, &stripe.Backends{
		API:     backend(stripe.APIBackend),
		Connect: backend(stripe.ConnectBackend),
		Uploads: backend(stripe.UploadsBackend),
	})
	return &Client{api: api, mode: mode, maxRetries: maxRetries, log: log, tr: tr}, nil
}

// Mode is "test" or "live", from the key's prefix.
func (c *Client) Mode() string { return c.mode }

// Traffic reports this client's requests to Stripe over the last minute,
// the 429s among them and since the start, and the pacing limit now and
// at most, for the status page and its metrics.
func (c *Client) Traffic() stripesync.StripeTraffic {
	req, limited, ever := c.tr.traffic.read(time.Now())
	cur, max := c.tr.pace.limit()
	return stripesync.StripeTraffic{Window: trafficWindow, Requests: req, RateLimited: limited, RateLimitedEver: ever,
		PacingLimit: cur, PacingMax: max}
}
