package stripeclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// TestLostResponsesCreateExactlyOnce drops 30% of write responses after
// the write ran. The client cannot tell, retries with the same key, and
// Stripe (the emulator) replays: every account ends up with one customer.
func TestLostResponsesCreateExactlyOnce(t *testing.T) {
	t.Parallel()
	srv := stripetest.NewServer(t, stripetest.Options{Seed: 7})
	srv.SetFaults(stripetest.Faults{RateLostResponse: 0.3, WritesOnly: true})
	c, _ := newClient(t, srv, Config{MaxRetries: 8})

	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cust := acme
			cust.CRMAccountID = fmt.Sprintf("001ACCOUNT%08d", i)
			ids[i], errs[i] = c.CreateCustomer(t.Context(), cust, "create:"+cust.CRMAccountID)
		})
	}
	wg.Wait()

	for i := range n {
		crmID := fmt.Sprintf("001ACCOUNT%08d", i)
		if errs[i] != nil {
			t.Errorf("create %s: %v", crmID, errs[i])
			continue
		}
		got := srv.CustomersWithMetadata("crm_account_id", crmID)
		if len(got) != 1 || got[0].ID != ids[i] {
			t.Errorf("account %s: %d customers in Stripe, returned id %s; want exactly that one", crmID, len(got), ids[i])
		}
	}
	st := srv.Stats()
	if st.Dropped == 0 || st.Replayed == 0 {
		t.Errorf("stats %+v: want some dropped responses, recovered by replays", st)
	}
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	srv := stripetest.NewServer(t, stripetest.Options{})
	id := srv.CreateCustomer(stripetest.Customer{})
	srv.SetFaults(stripetest.Faults{Rate500: 1})
	c, _ := newClient(t, srv, Config{MaxRetries: 2})

	// A POST's 500 is saved under its key: retrying would only replay it.
	_, err := c.CreateCustomer(t.Context(), acme, "k-500")
	if code := stripesync.CodeOf(err); code != stripesync.EUNAVAILABLE {
		t.Errorf("create during 500s: %v (code %s), want EUNAVAILABLE", err, code)
	}
	if got := srv.Stats().Total; got != 1 {
		t.Errorf("create sent %d requests, want 1", got)
	}

	// A GET's 500 is retried.
	srv.ResetRequests()
	_, err = c.Customer(t.Context(), id)
	if code := stripesync.CodeOf(err); code != stripesync.EUNAVAILABLE {
		t.Errorf("retrieve during 500s: %v (code %s), want EUNAVAILABLE", err, code)
	}
	if got := srv.Stats().Total; got != 3 {
		t.Errorf("retrieve sent %d requests, want 3 (1 + MaxRetries)", got)
	}
	if !stripesync.Retryable(err) {
		t.Error("a 5xx is not Retryable")
	}
}

func TestServiceUnavailableIsRetried(t *testing.T) {
	t.Parallel()
	srv := stripetest.NewServer(t, stripetest.Options{Seed: 3})
	srv.SetFaults(stripetest.Faults{Rate503: 0.5})
	c, _ := newClient(t, srv, Config{MaxRetries: 10})
	for i := range 4 {
		cust := acme
		cust.CRMAccountID = fmt.Sprintf("001S%d", i)
		if _, err := c.CreateCustomer(t.Context(), cust, "k-"+cust.CRMAccountID); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	st := srv.Stats()
	if len(srv.Customers()) != 4 || st.ServerErrors == 0 {
		t.Errorf("%d customers, stats %+v; want 4 created through some 503s", len(srv.Customers()), st)
	}
}

// scripted is a server answering with fixed statuses in turn, for retry
// rules the emulator has no fault for.
func scripted(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		answers[min(i, len(answers)-1)](w)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func stripeError(status int, shouldRetry string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if shouldRetry != "" {
			w.Header().Set("Stripe-Should-Retry", shouldRetry)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, `{"error":{"type":"api_error","message":"scripted"}}`)
	}
}

func customerJSON(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"id":"cus_1","object":"customer","metadata":{}}`)
}

// bareNotFound is a 404 from something that is not Stripe's API: a
// gateway, or a backend without the endpoint.
func bareNotFound(w http.ResponseWriter) {
	http.Error(w, "Not Found", http.StatusNotFound)
}

func resourceMissing(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such customer: 'cus_1'"}}`)
}

func TestRetryRules(t *testing.T) {
	htmlBadGateway := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway</html>")
	}
	tests := []struct {
		name      string
		answers   []func(http.ResponseWriter)
		wantCalls int32
		wantCode  stripesync.ErrorCode
	}{
		{"503 then success", []func(http.ResponseWriter){stripeError(503, ""), customerJSON}, 2, ""},
		{"409 then success", []func(http.ResponseWriter){stripeError(409, ""), customerJSON}, 2, ""},
		{"Stripe-Should-Retry false stops a 503", []func(http.ResponseWriter){stripeError(503, "false")}, 1, stripesync.EUNAVAILABLE},
		{"Stripe-Should-Retry true retries a 400", []func(http.ResponseWriter){stripeError(400, "true"), customerJSON}, 2, ""},
		{"400 is final", []func(http.ResponseWriter){stripeError(400, "")}, 1, stripesync.EINVALID},
		{"non-JSON 502 is retried", []func(http.ResponseWriter){htmlBadGateway}, 3, stripesync.EUNAVAILABLE},
		{"404 without a Stripe error body is unavailable", []func(http.ResponseWriter){bareNotFound}, 1, stripesync.EUNAVAILABLE},
		{"404 resource_missing is not found", []func(http.ResponseWriter){resourceMissing}, 1, stripesync.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, calls := scripted(t, tt.answers...)
			c, err := New(Config{Key: testKey, BaseURL: s.URL, MaxRetries: 2})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Customer(t.Context(), "cus_1")
			if code := stripesync.CodeOf(err); code != tt.wantCode {
				t.Errorf("Customer() = %v (code %q), want code %q", err, code, tt.wantCode)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestContextEndsRetries(t *testing.T) {
	t.Parallel()
	srv := stripetest.NewServer(t, stripetest.Options{})
	srv.SetFaults(stripetest.Faults{Rate503: 1})
	c, _ := newClient(t, srv, Config{MaxRetries: 10})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.CreateCustomer(ctx, acme, "k-ctx")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v, want soon after the deadline", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) || stripesync.CodeOf(err) != stripesync.EUNAVAILABLE {
		t.Errorf("err = %v (code %s), want EUNAVAILABLE wrapping the deadline", err, stripesync.CodeOf(err))
	}
}

func TestOnCallOutcomes(t *testing.T) {
	t.Parallel()
	srv := stripetest.NewServer(t, stripetest.Options{RateLimit: 1})
	var mu sync.Mutex
	var got []string
	// No keep-alives: net/http would otherwise resend the dropped write on
	// a reused connection by itself (it carries an Idempotency-Key) and
	// report only the resend's outcome.
	noReuse := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c, _ := newClient(t, srv, Config{HTTPClient: noReuse, MaxRetries: -1, OnCall: func(outcome string, status int) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s %d", outcome, status))
	}})
	ctx := t.Context()
	_, _ = c.CreateCustomer(ctx, acme, "k-1") // ok
	_, _ = c.Customer(ctx, "cus_missing")     // 429: the burst of one is spent
	time.Sleep(1100 * time.Millisecond)
	_, _ = c.Customer(ctx, "cus_missing") // 404
	time.Sleep(1100 * time.Millisecond)
	srv.SetFaults(stripetest.Faults{Rate500: 1})
	_, _ = c.Customer(ctx, "cus_missing")
	time.Sleep(1100 * time.Millisecond)
	srv.SetFaults(stripetest.Faults{RateLostResponse: 1})
	_, _ = c.CreateCustomer(ctx, acme, "k-2")

	want := []string{"ok 200", "rate_limited 429", "client_error 404", "server_error 500", "network_error 0"}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OnCall reports (-want +got):\n%s", diff)
	}
}

func TestErrorsAndLogsNeverContainTheKey(t *testing.T) {
	// The emulator refuses this well-formed-looking key (it has a hyphen)
	// and names it, masked, in its 401 message.
	const key = "sk_test_SUPERSECRET-VALUE-9876"
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, logs := newClient(t, srv, Config{Key: key})
	_, err := c.CreateCustomer(t.Context(), acme, "k-1")
	if code := stripesync.CodeOf(err); code != stripesync.EUNAUTHORIZED {
		t.Fatalf("err = %v (code %s), want EUNAUTHORIZED", err, code)
	}
	if !strings.Contains(err.Error(), "Invalid API Key provided") {
		t.Errorf("err = %v, want Stripe's message", err)
	}

	// A network error names the URL; the key is in a header, not there.
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	c2, newErr := New(Config{Key: key, BaseURL: down.URL, MaxRetries: -1})
	if newErr != nil {
		t.Fatal(newErr)
	}
	_, err2 := c2.Customer(t.Context(), "cus_1")
	if code := stripesync.CodeOf(err2); code != stripesync.EUNAVAILABLE {
		t.Errorf("connection refused: %v (code %s), want EUNAVAILABLE", err2, code)
	}
	for _, text := range []string{err.Error(), err2.Error(), logs.String()} {
		if strings.Contains(text, "SUPERSECRET") {
			t.Errorf("key leaked: %s", text)
		}
	}
}

func TestCodeFor(t *testing.T) {
	tests := []struct {
		status int
		typ    string
		code   string
		want   stripesync.ErrorCode
	}{
		{404, "invalid_request_error", "resource_missing", stripesync.ENOTFOUND},
		{400, "invalid_request_error", "resource_missing", stripesync.ENOTFOUND},
		{404, "", "", stripesync.EUNAVAILABLE},
		{404, "invalid_request_error", "", stripesync.EUNAVAILABLE}, // an unrecognized URL
		{400, "idempotency_error", "", stripesync.ECONFLICT},
		{409, "idempotency_error", "idempotency_key_in_use", stripesync.EUNAVAILABLE},
		{429, "invalid_request_error", "rate_limit", stripesync.ERATELIMITED},
		{429, "invalid_request_error", "lock_timeout", stripesync.ERATELIMITED},
		{500, "api_error", "", stripesync.EUNAVAILABLE},
		{503, "", "", stripesync.EUNAVAILABLE},
		{401, "invalid_request_error", "", stripesync.EUNAUTHORIZED},
		{403, "invalid_request_error", "", stripesync.EUNAUTHORIZED},
		{402, "card_error", "card_declined", stripesync.EINVALID},
		{400, "invalid_request_error", "parameter_unknown", stripesync.EINVALID},
	}
	for _, tt := range tests {
		if got := codeFor(tt.status, stripe.ErrorType(tt.typ), stripe.ErrorCode(tt.code)); got != tt.want {
			t.Errorf("codeFor(%d, %s, %s) = %s, want %s", tt.status, tt.typ, tt.code, got, tt.want)
		}
	}
}

// TestRetryLogNamesTheComponentOnce: the caller's logger names the
// component; the client's retry lines must not add a second "component".
func TestRetryLogNamesTheComponentOnce(t *testing.T) {
	t.Parallel()
	srv := stripetest.NewServer(t, stripetest.Options{Seed: 3})
	srv.SetFaults(stripetest.Faults{Rate503: 0.5})
	var logs logBuffer
	c, err := New(Config{Key: testKey, BaseURL: srv.URL(), MaxRetries: 8,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", "stripe")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		cust := acme
		cust.CRMAccountID = fmt.Sprintf("001COMPONENT%07d", i)
		if _, err := c.CreateCustomer(t.Context(), cust, "component-"+cust.CRMAccountID); err != nil {
			t.Fatalf("CreateCustomer: %v", err)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no retry was logged; the test needs some")
	}
	for _, line := range lines {
		if n := strings.Count(line, `"component":`); n != 1 {
			t.Errorf("%d component keys in %s", n, line)
		}
	}
}
