package crmtest

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options configures an emulated org. The zero value works.
type Options struct {
	// OrgID is the 18-character org id (00D…) shown in identity URLs and
	// tokens. Default: a fixed generated id.
	OrgID string
	// ClientID and ClientSecret are the connected app's credentials for the
	// client-credentials flow; ClientID is also the JWT issuer. Defaults:
	// "crmtest-client-id" and "crmtest-client-secret".
	ClientID, ClientSecret string
	// Username is the JWT subject. Default "integration@crmtest.example".
	Username string
	// JWTPublicKey verifies JWT-bearer assertions; nil accepts any RS256
	// assertion whose claims are right.
	JWTPublicKey *rsa.PublicKey
	// APIVersion is the newest version listed by GET /services/data/.
	// Default "62.0". Data paths accept any vNN.N.
	APIVersion string
	// APILimit is the daily API allocation. Once usage reaches it, data
	// calls get 403 REQUEST_LIMIT_EXCEEDED. Default 100,000.
	APILimit int
	// PageSize is the query batch size when the request has no
	// Sforce-Query-Options: batchSize=N header. Default 2000.
	PageSize int
	// Latency delays every response.
	Latency time.Duration
	// Clock stamps CreatedDate, SystemModstamp and LastModifiedDate.
	// Default time.Now.
	Clock func() time.Time
	// Logger receives one debug line per request. Default: discard.
	Logger *slog.Logger
	// ExtraFields adds fields per sObject, for mapping files that rename
	// or add fields; naming an unknown sObject creates a custom object.
	ExtraFields map[string]map[string]FieldType
}

// Server is a stateful Salesforce org served over HTTP: OAuth token
// endpoint, SOQL query/queryAll with paging, sObject CRUD and upsert,
// sObject Collections, limits and fault injection. All methods are safe for
// concurrent use.
type Server struct {
	opts   Options
	logger *slog.Logger
	orgID  string
	userID string

	mu     sync.RWMutex // guards tables and their rows
	tables map[string]*table

	locMu    sync.Mutex // guards locators (lastUsed included)
	locators map[string]*locator

	sessMu   sync.Mutex
	sessions map[string]struct{}

	faultMu sync.Mutex
	faults  []*faultState

	latency atomic.Int64
	usage   atomic.Int64
	calls   counters

	srvMu   sync.Mutex
	httpSrv *http.Server
	url     string

	obMu      sync.Mutex // guards outbounds and closed
	outbounds []*Outbound
	closed    bool
	noticeSeq atomic.Int64 // numbers Outbound Message notification ids
	actionSeq atomic.Int64 // numbers generated Outbound Message action ids
}

// New returns an emulator that is not listening yet; call Start, or mount
// Handler in a server of your own.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "crmtest-client-id"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "crmtest-client-secret"
	}
	if opts.Username == "" {
		opts.Username = "integration@crmtest.example"
	}
	if opts.APIVersion == "" {
		opts.APIVersion = "62.0"
	}
	if opts.APILimit <= 0 {
		opts.APILimit = 100000
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 2000
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	s := &Server{
		opts:     opts,
		logger:   opts.Logger,
		orgID:    opts.OrgID,
		userID:   newID("005", 1),
		tables:   map[string]*table{},
		locators: map[string]*locator{},
		sessions: map[string]struct{}{},
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.orgID == "" {
		s.orgID = newID("00D", 1)
	}
	for _, sc := range builtinObjects() {
		s.tables[strings.ToLower(sc.name)] = newTable(sc)
	}
	custom := 0
	for _, obj := range slices.Sorted(maps.Keys(opts.ExtraFields)) {
		t, ok := s.tables[strings.ToLower(obj)]
		if !ok {
			t = newTable(newSchema(obj, fmt.Sprintf("a1%c", base62[10+custom%52]), nil))
			s.tables[strings.ToLower(obj)] = t
			custom++
		}
		for _, name := range slices.Sorted(maps.Keys(opts.ExtraFields[obj])) {
			t.schema.add(field{name: name, typ: opts.ExtraFields[obj][name]})
		}
	}
	s.latency.Store(int64(opts.Latency))
	return s
}

// NewServer starts an emulator on 127.0.0.1:0 and closes it when the test
// ends.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := New(opts)
	if err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("crmtest: start: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in
// the background until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.srvMu.Lock()
	s.httpSrv, s.url = srv, "http://"+ln.Addr().String()
	s.srvMu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("crmtest: serve", "error", err)
		}
	}()
	return nil
}

// URL is the base URL after Start, e.g. "http://127.0.0.1:41234"; use it as
// the login URL. The instance_url handed out is the host each request came
// to.
func (s *Server) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.url
}

// Close stops the Outbound Message senders (messages not acknowledged yet
// are never sent), then the listener, and drops open connections.
func (s *Server) Close() {
	s.obMu.Lock()
	s.closed = true
	obs := s.outbounds
	s.outbounds = nil
	s.obMu.Unlock()
	for _, o := range obs {
		o.stop()
	}
	s.srvMu.Lock()
	srv := s.httpSrv
	s.httpSrv = nil
	s.srvMu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// SetLatency changes the delay added to every response.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

func (s *Server) now() time.Time { return s.opts.Clock().UTC().Truncate(time.Millisecond) }

// Handler serves the emulated org.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

var versionRe = regexp.MustCompile(`^v\d+\.\d$`)

// call is one data request on its way through the emulator.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	version string   // "v62.0"
	segs    []string // path segments after the version, unescaped
	// lockRows makes a Collections call fail every item with
	// UNABLE_TO_LOCK_ROW (FaultUnableToLockRow).
	lockRows bool
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.logger.Debug("crmtest request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration_ms", time.Since(start).Milliseconds())
	}()
	s.calls.total.Add(1)
	if !sleep(r.Context(), time.Duration(s.latency.Load())) {
		return
	}
	path := r.URL.Path
	switch {
	case path == "/services/oauth2/token":
		s.calls.token.Add(1)
		kind, faulted := s.takeFault(path, false)
		if faulted && s.answerFault(sw, kind) {
			return
		}
		s.setLimitHeader(sw)
		if faulted && kind == FaultDropResponse {
			s.handleToken(&discardWriter{header: http.Header{}}, r)
			panic(http.ErrAbortHandler)
		}
		s.handleToken(sw, r)
	case path == "/services/data" || path == "/services/data/":
		// The one response without Sforce-Limit-Info; it needs no token.
		writeJSON(sw, http.StatusOK, []map[string]string{{
			"label": "Winter '25", "url": "/services/data/v" + s.opts.APIVersion, "version": s.opts.APIVersion}})
	case strings.HasPrefix(path, "/services/data/"):
		s.serveData(sw, r)
	default:
		s.setLimitHeader(sw)
		writeAPIError(sw, errNotFound)
	}
}

func (s *Server) serveData(w http.ResponseWriter, r *http.Request) {
	segs := splitPath(strings.TrimPrefix(r.URL.EscapedPath(), "/services/data/"))
	if segs == nil || !versionRe.MatchString(segs[0]) {
		s.setLimitHeader(w)
		writeAPIError(w, errNotFound)
		return
	}
	if ctr := s.counterFor(segs[1:]); ctr != nil {
		ctr.Add(1)
	}
	tok := bearerToken(r)
	if !s.validSession(tok) {
		s.calls.unauthorized.Add(1)
		s.setLimitHeader(w)
		writeAPIError(w, errInvalidSession)
		return
	}
	if s.usage.Load() >= int64(s.opts.APILimit) {
		s.calls.limitRefused.Add(1)
		s.setLimitHeader(w)
		writeAPIError(w, errRequestLimit)
		return
	}
	c := &call{w: w, r: r, version: segs[0], segs: segs[1:]}
	drop := false
	if kind, ok := s.takeFault(r.URL.Path, true); ok {
		switch kind {
		case FaultSessionExpired:
			s.revokeSession(tok)
		case FaultUnableToLockRow:
			c.lockRows = len(c.segs) >= 2 && c.segs[0] == "composite" && c.segs[1] == "sobjects"
		case FaultDropResponse:
			drop = true
		}
		if !c.lockRows && !drop && s.answerFault(w, kind) {
			return
		}
	}
	s.usage.Add(1)
	s.setLimitHeader(w)
	if drop {
		// Apply the call, then hang up before any byte of the answer.
		c.w = &discardWriter{header: http.Header{}}
		s.route(c)
		panic(http.ErrAbortHandler)
	}
	s.route(c)
}

// answerFault writes the response of an injected fault; it reports false
// for kinds that are not answered up front.
func (s *Server) answerFault(w http.ResponseWriter, kind FaultKind) bool {
	switch kind {
	case FaultHTML503:
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request. Please try again later.</p></body></html>")
		return true
	case FaultUnableToLockRow:
		s.setLimitHeader(w)
		writeAPIError(w, &apiError{status: 400, code: "UNABLE_TO_LOCK_ROW",
			message: "unable to obtain exclusive access to this record or 1 records"})
		return true
	case FaultSessionExpired:
		s.setLimitHeader(w)
		writeAPIError(w, errInvalidSession)
		return true
	case FaultRequestLimit:
		s.setLimitHeader(w)
		writeAPIError(w, errRequestLimit)
		return true
	}
	return false
}

func (s *Server) setLimitHeader(w http.ResponseWriter) {
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.usage.Load(), s.opts.APILimit))
}

// counterFor picks the Calls counter of a data call by its path segments
// after the version; the call is counted whatever its outcome.
func (s *Server) counterFor(segs []string) *atomic.Int64 {
	switch {
	case len(segs) == 0:
		return nil
	case segs[0] == "limits":
		return &s.calls.limits
	case segs[0] == "query" || segs[0] == "queryAll":
		switch {
		case len(segs) > 1:
			return &s.calls.queryMore
		case segs[0] == "queryAll":
			return &s.calls.queryAll
		}
		return &s.calls.query
	case segs[0] == "sobjects" && len(segs) == 4:
		return &s.calls.upsert
	case segs[0] == "sobjects":
		return &s.calls.sobject
	case segs[0] == "composite":
		return &s.calls.collections
	}
	return nil
}

// route dispatches a data call by its path segments.
func (s *Server) route(c *call) {
	segs, m := c.segs, c.r.Method
	n := len(segs)
	allow := func(methods ...string) bool {
		for _, x := range methods {
			if m == x {
				return true
			}
		}
		writeAPIError(c.w, &apiError{status: http.StatusMethodNotAllowed, code: "METHOD_NOT_ALLOWED", message: fmt.Sprintf(
			"HTTP Method '%s' not allowed. Allowed are %s", m, strings.Join(methods, ","))})
		return false
	}
	switch {
	case n == 1 && segs[0] == "limits":
		if allow(http.MethodGet) {
			s.handleLimits(c)
		}
	case (n == 1 || n == 2) && (segs[0] == "query" || segs[0] == "queryAll"):
		if allow(http.MethodGet) {
			if n == 1 {
				s.handleQuery(c, segs[0] == "queryAll")
			} else {
				s.handleQueryMore(c, segs[1])
			}
		}
	case n == 2 && segs[0] == "sobjects":
		if allow(http.MethodPost) {
			s.handleCreate(c, segs[1])
		}
	case n == 3 && segs[0] == "sobjects":
		if allow(http.MethodGet, http.MethodPatch, http.MethodDelete) {
			s.handleRecord(c, segs[1], segs[2])
		}
	case n == 4 && segs[0] == "sobjects":
		if allow(http.MethodPatch) {
			s.handleUpsert(c, segs[1], segs[2], segs[3])
		}
	case n == 2 && segs[0] == "composite" && segs[1] == "sobjects":
		if allow(http.MethodPost, http.MethodPatch, http.MethodDelete) {
			s.handleCollection(c, "", "")
		}
	case n == 4 && segs[0] == "composite" && segs[1] == "sobjects":
		if allow(http.MethodPatch) {
			s.handleCollection(c, segs[2], segs[3])
		}
	default:
		writeAPIError(c.w, errNotFound)
	}
}

func (s *Server) handleLimits(c *call) {
	used := s.usage.Load()
	writeJSON(c.w, http.StatusOK, map[string]map[string]int64{
		"DailyApiRequests": {"Max": int64(s.opts.APILimit), "Remaining": max(0, int64(s.opts.APILimit)-used)},
	})
}

// splitPath splits an escaped path into unescaped segments, ignoring one
// trailing slash (Salesforce serves /query and /query/ alike).
func splitPath(escaped string) []string {
	escaped = strings.TrimSuffix(escaped, "/")
	if escaped == "" {
		return nil
	}
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// discardWriter swallows the response of a call whose answer is dropped.
type discardWriter struct{ header http.Header }

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
