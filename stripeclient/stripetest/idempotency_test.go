package stripetest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIdempotentReplay(t *testing.T) {
	s := NewServer(t, Options{})
	params := url.Values{"name": {"Acme"}, "metadata[crm_account_id]": {"001A"}}
	first := send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k1")
	second := send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k1")
	mustOK(t, first)
	mustOK(t, second)
	if diff := cmp.Diff(first.body, second.body); diff != "" {
		t.Errorf("replayed body differs (-first +second):\n%s", diff)
	}
	if got := second.header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("Idempotent-Replayed = %q, want true", got)
	}
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Error("first response marked as replayed")
	}
	if got, want := second.header.Get("Original-Request"), first.header.Get("Request-Id"); got != want {
		t.Errorf("Original-Request = %q, want the first Request-Id %q", got, want)
	}
	if n := len(s.Customers()); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
	if st := s.Stats(); st.Replayed != 1 || st.Writes != 2 {
		t.Errorf("Stats = %+v, want 2 writes, 1 replayed", st)
	}
	log := s.Requests()
	if len(log) != 2 || log[1].Replayed != true || log[1].IdempotencyKey != "k1" || log[0].Params.Get("name") != "Acme" {
		t.Errorf("request log = %+v", log)
	}
}

func TestIdempotencyMismatch(t *testing.T) {
	s := NewServer(t, Options{})
	mustOK(t, send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"A"}}, "Idempotency-Key", "k1"))

	r := send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"B"}}, "Idempotency-Key", "k1")
	want := "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'k1' if you meant to execute a different request."
	if r.status != 400 || r.errField("type") != "idempotency_error" || r.errField("message") != want {
		t.Errorf("different params: %d %v, want 400 idempotency_error %q", r.status, r.body, want)
	}

	id := s.Customers()[0].ID
	r = send(t, s, http.MethodPost, "/v1/customers/"+id, url.Values{"name": {"A"}}, "Idempotency-Key", "k1")
	want = "Keys for idempotent requests can only be used for the same endpoint they were first used for ('/v1/customers' vs '/v1/customers/" + id + "'). Try using a key other than 'k1' if you meant to execute a different request."
	if r.status != 400 || r.errField("type") != "idempotency_error" || r.errField("message") != want {
		t.Errorf("different endpoint: %d %v, want 400 idempotency_error %q", r.status, r.body, want)
	}
	if n := len(s.Customers()); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
}

func TestIdempotencyKeyInFlight(t *testing.T) {
	s := NewServer(t, Options{Latency: 400 * time.Millisecond})
	params := url.Values{"name": {"Slow"}}
	var wg sync.WaitGroup
	var first response
	wg.Go(func() { first = send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k1") })
	time.Sleep(100 * time.Millisecond)
	second := send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k1")
	wg.Wait()

	mustOK(t, first)
	if second.status != 409 || second.errField("code") != "idempotency_key_in_use" {
		t.Errorf("concurrent same key: %d %v, want 409 idempotency_key_in_use", second.status, second.body)
	}
	// The 409 saved nothing and the first request finished: now it replays.
	third := send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k1")
	if third.header.Get("Idempotent-Replayed") != "true" || third.body["id"] != first.body["id"] {
		t.Errorf("after the first finished: %v, want a replay of %v", third.body["id"], first.body["id"])
	}
}

func TestNothingSavedBeforeExecution(t *testing.T) {
	s := NewServer(t, Options{})
	// A validation error is not saved: the corrected request with the
	// same key runs.
	r := send(t, s, http.MethodPost, "/v1/customers", url.Values{"email": {"not-an-email"}}, "Idempotency-Key", "k1")
	if r.status != 400 || r.errField("code") != "email_invalid" {
		t.Fatalf("bad email: %d %v, want 400 email_invalid", r.status, r.body)
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/customers", url.Values{"email": {"a@b.example"}}, "Idempotency-Key", "k1"))

	// A 401 is not saved either.
	r = send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"X"}}, "Idempotency-Key", "k2", "Authorization", "")
	if r.status != 401 {
		t.Fatalf("no key: %d, want 401", r.status)
	}
	if r := send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"X"}}, "Idempotency-Key", "k2"); r.header.Get("Idempotent-Replayed") != "" {
		t.Error("request after a 401 with the same key was replayed")
	}
	if n := len(s.Customers()); n != 2 {
		t.Errorf("%d customers, want 2", n)
	}
}

func TestRateLimitedRequestIsNotSaved(t *testing.T) {
	s := NewServer(t, Options{RateLimit: 1})
	mustOK(t, send(t, s, http.MethodGet, "/v1/customers", nil)) // spends the burst
	r := send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"A"}}, "Idempotency-Key", "k1")
	if r.status != 429 {
		t.Fatalf("status = %d, want 429", r.status)
	}
	time.Sleep(1100 * time.Millisecond)
	r = send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"A"}}, "Idempotency-Key", "k1")
	if r.status != 200 || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("retry after 429: %d replayed=%q, want a fresh 200", r.status, r.header.Get("Idempotent-Replayed"))
	}
}

func TestFault500IsSavedUnderTheKey(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetFaults(Faults{Rate500: 1})
	params := url.Values{"name": {"A"}}
	r := send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k1")
	if r.status != 500 || r.errField("type") != "api_error" {
		t.Fatalf("got %d %v, want 500 api_error", r.status, r.body)
	}
	s.SetFaults(Faults{})
	r = send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k1")
	if r.status != 500 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry with the same key: %d replayed=%q, want the saved 500", r.status, r.header.Get("Idempotent-Replayed"))
	}
	if n := len(s.Customers()); n != 0 {
		t.Errorf("%d customers, want 0: a faulted 500 runs nothing", n)
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k2"))
}

func TestFaultLostResponse(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetFaults(Faults{RateLostResponse: 1, WritesOnly: true})
	params := url.Values{"name": {"A"}}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/v1/customers", strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Idempotency-Key", "k1")
	// A fresh transport, so the request goes out on a new connection and
	// net/http does not transparently resend it.
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want the connection dropped", resp.StatusCode)
	}
	if n := len(s.Customers()); n != 1 {
		t.Fatalf("%d customers, want 1: the write ran before the answer was lost", n)
	}
	// Reads are spared by WritesOnly, and a retry of the write replays.
	mustOK(t, send(t, s, http.MethodGet, "/v1/customers", nil))
	s.SetFaults(Faults{})
	r := send(t, s, http.MethodPost, "/v1/customers", params, "Idempotency-Key", "k1")
	if r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" || r.body["id"] != s.Customers()[0].ID {
		t.Errorf("retry: %d replayed=%q id=%v, want the saved answer", r.status, r.header.Get("Idempotent-Replayed"), r.body["id"])
	}
	if st := s.Stats(); st.Dropped != 1 {
		t.Errorf("Stats().Dropped = %d, want 1", st.Dropped)
	}
}

func TestFault503RunsNothing(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetFaults(Faults{Rate503: 1})
	r := send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"A"}}, "Idempotency-Key", "k1")
	if r.status != 503 {
		t.Fatalf("status = %d, want 503", r.status)
	}
	s.SetFaults(Faults{})
	r = send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"A"}}, "Idempotency-Key", "k1")
	if r.status != 200 || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("after 503: %d replayed=%q, want a fresh 200", r.status, r.header.Get("Idempotent-Replayed"))
	}
}

func TestFaultTimeoutHoldsUntilClientGivesUp(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetFaults(Faults{RateTimeout: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/v1/customers", strings.NewReader("name=A"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	start := time.Now()
	_, err = http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %v, want it held until the client gave up", d)
	}
	if n := len(s.Customers()); n != 0 {
		t.Errorf("%d customers, want 0", n)
	}
}
