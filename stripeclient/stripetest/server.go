package stripetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// APIVersion is the Stripe API version the emulator speaks (stripe-go v76's).
const APIVersion = "2023-10-16"

// Options configure a Server. The zero value is a usable emulator with no
// rate limit, no latency and the real clock.
type Options struct {
	// RateLimit is the requests per second allowed across all keys, as a
	// token bucket whose burst is one second's worth (at least 1), like
	// Stripe's per-second budget. 0 means unlimited.
	RateLimit float64
	// Latency is how long each request takes to run; see SetLatency.
	Latency time.Duration
	// Seed seeds the fault RNG, so a fault run can be repeated.
	Seed int64
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// Clock stamps objects (created), events, webhook signatures and the
	// request log; nil is time.Now.
	Clock func() time.Time
	// ACHSettleAfter is how long an ACH payment stays processing before it
	// settles (succeeds or fails as its test account says). 0 means it
	// settles only when SettleACH is called.
	ACHSettleAfter time.Duration
	// DisableMOTO refuses payment_method_options[card][moto], as Stripe
	// does on accounts that MOTO has not been enabled for.
	DisableMOTO bool
	// PublicURL is the base URL of the hosted pages (Checkout, micro-deposit
	// verification, billing portal) in the URLs the API returns, for an
	// emulator mounted with Handler on a server of one's own; "" means the
	// URL Start listens on.
	PublicURL string
	// BusinessName is the business the hosted pages show; "" means
	// "Stripesync Test Business".
	BusinessName string
}

// Server is the emulator. It is safe for concurrent use; all state is in
// memory and lost on Close.
type Server struct {
	log         *slog.Logger
	clock       func() time.Time
	limiter     *rate.Limiter // nil when unlimited
	endpoints   []endpoint
	closing     chan struct{}
	closeOnce   sync.Once
	settleAfter time.Duration
	noMOTO      bool
	hooks       *webhooks
	publicURL   string
	business    string
	pages       http.Handler

	mu        sync.Mutex
	closed    bool
	faults    Faults
	latency   time.Duration
	rng       *rand.Rand
	idem      map[idemKey]*idemEntry
	requests  []Request
	stats     Stats
	customers customerStore
	accounts  accountStore
	pay       paymentStore
	events    eventStore
	httpSrv   *http.Server
	url       string
	started   time.Time // the created of accounts nobody registered
}

// New returns an emulator that is not listening yet: use Start, or mount
// Handler on a server of your own.
func New(opts Options) *Server {
	s := &Server{
		log:         opts.Logger,
		clock:       opts.Clock,
		latency:     opts.Latency,
		rng:         rand.New(rand.NewPCG(uint64(opts.Seed), 0x5EED)),
		idem:        map[idemKey]*idemEntry{},
		closing:     make(chan struct{}),
		settleAfter: opts.ACHSettleAfter,
		noMOTO:      opts.DisableMOTO,
		publicURL:   strings.TrimSuffix(opts.PublicURL, "/"),
		business:    cmpOr(opts.BusinessName, "Stripesync Test Business"),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if opts.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(opts.RateLimit), max(1, int(opts.RateLimit)))
	}
	s.started = s.clock()
	s.hooks = newWebhooks(s.log, s.clock, opts.Seed)
	s.customers.init()
	s.pay.init()
	s.endpoints = append(s.endpoints, customerEndpoints()...)
	s.endpoints = append(s.endpoints, paymentIntentEndpoints()...)
	s.endpoints = append(s.endpoints, chargeEndpoints()...)
	s.endpoints = append(s.endpoints, refundEndpoints()...)
	s.endpoints = append(s.endpoints, eventEndpoints()...)
	s.endpoints = append(s.endpoints, paymentMethodEndpoints()...)
	s.endpoints = append(s.endpoints, setupIntentEndpoints()...)
	s.endpoints = append(s.endpoints, microdepositEndpoints()...)
	s.endpoints = append(s.endpoints, checkoutSessionEndpoints(s.clock)...)
	s.endpoints = append(s.endpoints, billingPortalEndpoints()...)
	s.endpoints = append(s.endpoints, accountEndpoints()...)
	s.pages = s.pageRoutes()
	return s
}

// Start listens on addr (e.g. "127.0.0.1:0" or ":12111") and serves in the
// background until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("stripetest: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	s.httpSrv = srv
	s.url = "http://" + ln.Addr().String()
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("stripe emulator stopped", "error", err)
		}
	}()
	return nil
}

// URL is the base URL to give a Stripe client ("http://127.0.0.1:port"),
// or "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops the listener, closes open connections, releases held
// requests, stops pending ACH settlements and stops webhook delivery (it
// returns once no delivery is in flight). It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.mu.Lock()
	srv := s.httpSrv
	s.closed = true
	s.pay.stopTimers()
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	s.hooks.close()
}

// Handler serves the Stripe API under /v1/, the hosted pages (pages.go)
// and the Stripe.js stand-in (stripejs.go) under their own paths.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPagePath(r.URL.Path) {
			s.pages.ServeHTTP(w, r)
			return
		}
		if s.cors(w, r) {
			return
		}
		s.serveHTTP(w, r)
	})
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := Request{
		Method:         r.Method,
		Path:           r.URL.Path,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Account:        r.Header.Get("Stripe-Account"),
		RequestID:      newID("req_"),
		Time:           s.clock(),
	}
	// Deferred so that a dropped connection (which may abort the handler)
	// is still logged.
	defer func() {
		if !rec.logged {
			s.record(rec)
		}
		s.log.Debug("stripe request", "method", rec.Method, "path", rec.Path,
			"status", rec.Status, "replayed", rec.Replayed, "dropped", rec.Dropped,
			"request_id", rec.RequestID, "duration_ms", time.Since(start).Milliseconds())
	}()
	s.handle(w, r, &rec)
}

// handle runs Stripe's pipeline for one request and fills in rec.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, rec *Request) {
	h := w.Header()
	h.Set("Request-Id", rec.RequestID)
	version := r.Header.Get("Stripe-Version")
	if version == "" {
		version = APIVersion
	}
	h.Set("Stripe-Version", version)

	values, aerr := readValues(r)
	rec.Params = values
	if aerr != nil {
		s.writeError(w, rec, aerr)
		return
	}
	apiKey, sc, publishable, aerr := s.authenticate(r)
	if aerr != nil {
		s.writeError(w, rec, aerr)
		return
	}
	if s.limiter != nil && !s.limiter.Allow() {
		h.Set("Stripe-Rate-Limited-Reason", "global-rate")
		s.writeError(w, rec, rateLimited())
		return
	}
	ep, vars := s.route(r.Method, r.URL.Path)
	if ep == nil {
		s.writeError(w, rec, unrecognizedURL(r.Method, r.URL.Path))
		return
	}
	if publishable && !ep.publishable {
		s.writeError(w, rec, secretKeyRequired())
		return
	}
	key := rec.IdempotencyKey
	if len(key) > maxIdemKey {
		s.writeError(w, rec, invalidRequest(http.StatusBadRequest, "", "",
			"Idempotency-Key must be at most %d characters long.", maxIdemKey))
		return
	}

	f := s.rollFault(r.Method)
	switch f {
	case fault503:
		s.writeError(w, rec, unavailable())
		return
	case faultTimeout:
		s.hold(r)
		s.drop(w, rec, 0)
		return
	}

	params, aerr := decode(values, ep.params, ep.notEmulated)
	if aerr == nil && ep.check != nil {
		aerr = ep.check(params)
	}
	if aerr != nil {
		s.writeError(w, rec, aerr)
		return
	}

	keyed := r.Method == http.MethodPost && key != ""
	if keyed {
		h.Set("Idempotency-Key", key)
		outcome, saved, aerr := s.idemBegin(sc, key, r.URL.Path, fingerprint(r.Method, r.URL.Path, values))
		switch outcome {
		case idemReject:
			s.writeError(w, rec, aerr)
			return
		case idemReplay:
			rec.Replayed = true
			h.Set("Idempotent-Replayed", "true")
			h.Set("Original-Request", saved.reqID)
			if f == faultLost {
				s.drop(w, rec, saved.status)
				return
			}
			s.writeBody(w, rec, saved.status, saved.body)
			return
		}
	}

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	s.sleep(latency)

	var status int
	var body any
	if f == fault500 {
		e := internalError()
		status, body = e.status, e.body()
	} else if v, aerr := ep.run(s, &call{scope: sc, key: apiKey, params: params, path: vars, requestID: rec.RequestID, idemKey: key, publishable: publishable}); aerr != nil {
		status, body = aerr.status, aerr.body()
	} else {
		status, body = http.StatusOK, v
	}
	raw := mustJSON(body)
	if keyed {
		s.idemFinish(sc, key, status, raw, rec.RequestID)
	}
	if f == faultLost {
		s.drop(w, rec, status)
		return
	}
	s.writeBody(w, rec, status, raw)
}

// sleep waits d, or less if the server is closing. A client that hangs up
// does not stop the request: Stripe finishes what it started.
func (s *Server) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.closing:
	}
}

// maxHold bounds how long a timeout fault holds a request whose client
// never gives up.
const maxHold = 2 * time.Minute

func (s *Server) hold(r *http.Request) {
	t := time.NewTimer(maxHold)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-s.closing:
	case <-t.C:
	}
}

// drop closes the connection without an answer. status is what the client
// would have got; it goes to the log only.
func (s *Server) drop(w http.ResponseWriter, rec *Request, status int) {
	rec.Status, rec.Dropped = status, true
	s.record(*rec)
	rec.logged = true
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a wrapped writer: abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func (s *Server) writeError(w http.ResponseWriter, rec *Request, e *apiError) {
	s.writeBody(w, rec, e.status, mustJSON(e.body()))
}

func (s *Server) writeBody(w http.ResponseWriter, rec *Request, status int, body []byte) {
	rec.Status = status
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every body is built from plain maps, slices and structs.
		panic(fmt.Sprintf("stripetest: encode response: %v", err))
	}
	return b
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newID returns prefix plus 14 random alphanumerics, the shape of Stripe's
// ids (cus_NffrFeUfNV2Hib).
func newID(prefix string) string {
	b := make([]byte, 14)
	for i := range b {
		b[i] = idChars[rand.IntN(len(idChars))]
	}
	return prefix + string(b)
}
