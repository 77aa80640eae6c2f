package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/metrics"
)

// response is a decoded answer from the test server.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func get(t *testing.T, srv *httptest.Server, method, path string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: res.StatusCode, header: res.Header, raw: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out.body); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, b, err)
		}
	}
	return out
}

func newServer(t *testing.T, cfg httpapi.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(httpapi.NewServer(cfg))
	t.Cleanup(srv.Close)
	return srv
}

func errBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

func TestHealthz(t *testing.T) {
	// Liveness must not depend on readiness: a failing database must not
	// get the process restarted.
	srv := newServer(t, httpapi.Config{Ready: func(context.Context) error { return errors.New("db down") }})
	res := get(t, srv, "GET", "/healthz")
	if res.status != http.StatusOK {
		t.Fatalf("GET /healthz: status %d, want 200", res.status)
	}
	if diff := cmp.Diff(map[string]any{"status": "ok"}, res.body); diff != "" {
		t.Errorf("GET /healthz body (-want +got):\n%s", diff)
	}
}

func TestReadyz(t *testing.T) {
	const secret = "hunter2"
	tests := []struct {
		name       string
		ready      func(context.Context) error
		wantStatus int
		wantBody   map[string]any
	}{
		{"NoCheck", nil, 200, map[string]any{"ready": true}},
		{"OK", func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("readiness check has no deadline")
			}
			return nil
		}, 200, map[string]any{"ready": true}},
		{"DomainError", func(context.Context) error {
			return stripesync.WrapError(stripesync.EUNAVAILABLE,
				errors.New("dial postgres://sync:"+secret+"@db/x"), "ledger not writable: disk full")
		}, 503, map[string]any{"ready": false, "reason": "ledger not writable: disk full"}},
		{"RawErrorIsNotQuoted", func(context.Context) error {
			return errors.New("pq: password authentication failed for " + secret)
		}, 503, map[string]any{"ready": false, "reason": "not ready"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, httpapi.Config{Ready: tt.ready})
			res := get(t, srv, "GET", "/readyz")
			if res.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", res.status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantBody, res.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if strings.Contains(res.raw, secret) {
				t.Errorf("body leaks the cause's secret: %s", res.raw)
			}
			if got := res.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		})
	}
}

// TestReadyzChecksOncePerSecond: the check writes to the ledger, so a burst
// of probes, concurrent or not, shares one check, and a new one runs only
// when the result is a second old. A failure is reused the same way, and
// recovery shows at the next check.
func TestReadyzChecksOncePerSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var checks atomic.Int32
		var down atomic.Bool
		down.Store(true)
		h := httpapi.NewServer(httpapi.Config{Ready: func(context.Context) error {
			checks.Add(1)
			time.Sleep(10 * time.Millisecond) // a write takes a moment
			if down.Load() {
				return stripesync.Errorf(stripesync.EUNAVAILABLE, "ledger not writable: disk full")
			}
			return nil
		}})
		probe := func() int {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			return rec.Code
		}
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if code := probe(); code != http.StatusServiceUnavailable {
					t.Errorf("probe while down = %d, want 503", code)
				}
			})
		}
		wg.Wait()
		if n := checks.Load(); n != 1 {
			t.Errorf("5 concurrent probes ran %d checks, want 1", n)
		}
		down.Store(false)
		if code := probe(); code != http.StatusServiceUnavailable || checks.Load() != 1 {
			t.Errorf("probe within the second = %d after %d checks, want the cached 503 after 1", code, checks.Load())
		}
		time.Sleep(time.Second)
		if code := probe(); code != http.StatusOK || checks.Load() != 2 {
			t.Errorf("probe a second later = %d after %d checks, want 200 after 2", code, checks.Load())
		}
	})
}

func TestMetricsRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.RunFinished("accounts", "succeeded", 0)
	srv := newServer(t, httpapi.Config{Metrics: metrics.Handler(reg)})
	res := get(t, srv, "GET", "/metrics")
	if res.status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", res.status)
	}
	if want := `stripesync_sync_runs_total{job="accounts",status="succeeded"} 1`; !strings.Contains(res.raw, want) {
		t.Errorf("GET /metrics lacks %q", want)
	}

	// Without a metrics handler the route does not exist.
	srv = newServer(t, httpapi.Config{})
	if res := get(t, srv, "GET", "/metrics"); res.status != http.StatusNotFound {
		t.Errorf("GET /metrics without Metrics: status %d, want 404", res.status)
	}
}

func TestUnknownRouteIsJSON(t *testing.T) {
	srv := newServer(t, httpapi.Config{})
	res := get(t, srv, "GET", "/nope")
	if res.status != http.StatusNotFound {
		t.Errorf("status = %d, want 404", res.status)
	}
	if diff := cmp.Diff(errBody("not_found", "no such route"), res.body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// A known path asked with the wrong method is 405 with Allow, as the README
// says, not the 404 of an unknown path; both carry the JSON error body.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	srv := newServer(t, httpapi.Config{Webhook: &httpapi.WebhookConfig{
		Verify: func([]byte, string) (stripesync.Event, error) { return stripesync.Event{}, nil },
		Accept: func(context.Context, stripesync.Event) (bool, error) { return true, nil },
	}})
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/readyz", "GET, HEAD"},
		{"GET", "/stripe/webhook", "POST"},
	} {
		res := get(t, srv, c.method, c.path)
		if res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: status %d, Allow %q; want 405, %q", c.method, c.path, res.status, res.header.Get("Allow"), c.allow)
		}
		if res.body["error"] == nil {
			t.Errorf("%s %s: body %v, want the JSON error", c.method, c.path, res.body)
		}
	}
	if res := get(t, srv, "POST", "/nope"); res.status != http.StatusNotFound {
		t.Errorf("POST /nope: status %d, want 404", res.status)
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		wantBody   map[string]any
		wantLogged bool
	}{
		{stripesync.Errorf(stripesync.EINVALID, "amount is required"), 400, errBody("invalid", "amount is required"), false},
		{stripesync.Errorf(stripesync.EUNAUTHORIZED, "bad token"), 401, errBody("unauthorized", "bad token"), false},
		{stripesync.Errorf(stripesync.ENOTFOUND, "no invoice a0X1"), 404, errBody("not_found", "no invoice a0X1"), false},
		{stripesync.Errorf(stripesync.ECONFLICT, "invoice is paid"), 409, errBody("conflict", "invoice is paid"), false},
		{stripesync.Errorf(stripesync.ERATELIMITED, "slow down"), 429, errBody("rate_limited", "slow down"), false},
		{stripesync.Errorf(stripesync.EUNAVAILABLE, "stripe is down"), 503, errBody("unavailable", "stripe is down"), false},
		{stripesync.Errorf(stripesync.ELIMIT, "CRM API allocation spent"), 503, errBody("limit_reached", "CRM API allocation spent"), false},
		{stripesync.Errorf(stripesync.EINTERNAL, "ledger inconsistent"), 500, errBody("internal", "ledger inconsistent"), true},
		// A wrapped domain error keeps its code; the cause stays out of the body.
		{joined(stripesync.WrapError(stripesync.EINVALID, errors.New("sk_live_secret"), "bad key")), 400, errBody("invalid", "bad key"), false},
		// A plain error is internal and its text is never shown.
		{errors.New("sql: sk_live_secret"), 500, errBody("internal", "internal error"), true},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/x", nil)
			httpapi.WriteError(w, r, logger, tt.err)

			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if strings.Contains(w.Body.String(), "sk_live") {
				t.Errorf("body leaks the cause: %s", w.Body)
			}
			if logged := logs.Len() > 0; logged != tt.wantLogged {
				t.Errorf("logged = %v, want %v (log: %s)", logged, tt.wantLogged, logs.String())
			}
		})
	}
}

// joined hides err one level down, as a handler adding context would.
func joined(err error) error { return errors.Join(errors.New("handler"), err) }

func TestWriteErrorNilLogger(t *testing.T) {
	w := httptest.NewRecorder()
	httpapi.WriteError(w, httptest.NewRequest("GET", "/", nil), nil, errors.New("boom"))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", w.Code)
	}
}
