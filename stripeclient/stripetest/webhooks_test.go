package stripetest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const hookSecret = "whsec_test_secret_123"

// receiver is a webhook endpoint that records what it gets and answers
// with the statuses it is given in turn (the last one repeats).
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	got      []received
	statuses []int
}

type received struct {
	eventID string
	header  http.Header
	body    []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(body, &ev)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{eventID: ev.ID, header: r.Header.Clone(), body: body})
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status = rc.statuses[min(n, len(rc.statuses)-1)]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

// verify checks a Stripe-Signature header the way the reference (§4)
// describes it, independently of SignPayload.
func verify(header string, body []byte, secret string) bool {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	return slices.Contains(sigs, want)
}

func TestWebhookDelivery(t *testing.T) {
	now := time.Unix(1_712_650_000, 0)
	s := NewServer(t, Options{Clock: func() time.Time { return now }})
	rc := newReceiver(t)
	if err := s.AddWebhookEndpoint(rc.srv.URL+"/stripe/webhook", hookSecret); err != nil {
		t.Fatal(err)
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")))
	waitIdle(t, s)

	events := s.Events()
	got := rc.received()
	if len(got) != len(events) {
		t.Fatalf("%d deliveries for %d events", len(got), len(events))
	}
	for i, d := range got {
		if d.eventID != events[i].ID || string(d.body) != string(events[i].Payload) {
			t.Errorf("delivery %d is %s, want %s in order with the recorded payload", i, d.eventID, events[i].ID)
		}
		if ct := d.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		sig := d.header.Get("Stripe-Signature")
		if !strings.HasPrefix(sig, "t="+strconv.FormatInt(now.Unix(), 10)+",v1=") || !verify(sig, d.body, hookSecret) {
			t.Errorf("Stripe-Signature %q does not verify", sig)
		}
		if verify(sig, d.body, "whsec_other") {
			t.Error("signature verifies with another secret")
		}
		if pending := decoded(t, events[i])["pending_webhooks"]; pending != float64(1) {
			t.Errorf("pending_webhooks = %v, want 1", pending)
		}
	}
	for _, d := range s.Deliveries() {
		if !d.OK() || d.Attempt != 1 || d.Status != 200 || !strings.HasSuffix(d.Endpoint, "/stripe/webhook") {
			t.Errorf("delivery %+v", d)
		}
	}
	delivered := mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"delivery_success": {"true"}}))
	if len(ids(delivered)) != len(events) {
		t.Errorf("delivery_success=true lists %d of %d delivered events", len(ids(delivered)), len(events))
	}
	if err := s.AddWebhookEndpoint("not a url", hookSecret); err == nil {
		t.Error("a bad URL was accepted")
	}
	if err := s.AddWebhookEndpoint(rc.srv.URL, "sk_test_oops"); err == nil {
		t.Error("a secret that is not whsec_ was accepted")
	}
}

func TestWebhookRetriedUntilAcknowledged(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetWebhookOptions(WebhookOptions{RetryBackoff: 5 * time.Millisecond})
	rc := newReceiver(t, 500, 503, 200)
	if err := s.AddWebhookEndpoint(rc.srv.URL, hookSecret); err != nil {
		t.Fatal(err)
	}
	s.DeleteCustomer(s.CreateCustomer(Customer{}))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.WaitDelivered(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var attempts []string
	for _, d := range s.Deliveries() {
		attempts = append(attempts, strconv.Itoa(d.Attempt)+":"+strconv.Itoa(d.Status))
	}
	if diff := cmp.Diff([]string{"1:500", "2:503", "3:200"}, attempts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	got := rc.received()
	if got[0].header.Get("Stripe-Signature") == "" || got[2].eventID != got[0].eventID {
		t.Errorf("retries must resend the same event, signed")
	}
}

func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetWebhookOptions(WebhookOptions{RetryBackoff: time.Millisecond, MaxAttempts: 3})
	rc := newReceiver(t, 500)
	if err := s.AddWebhookEndpoint(rc.srv.URL, hookSecret); err != nil {
		t.Fatal(err)
	}
	s.DeleteCustomer(s.CreateCustomer(Customer{}))
	waitIdle(t, s)
	if n := len(rc.received()); n != 3 {
		t.Errorf("%d attempts, want MaxAttempts=3", n)
	}
	failed := mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"delivery_success": {"false"}}))
	if len(ids(failed)) != 1 {
		t.Errorf("delivery_success=false lists %v, want the undelivered event", ids(failed))
	}
}

func TestWebhooksDisabled(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetWebhookOptions(WebhookOptions{Disabled: true})
	rc := newReceiver(t)
	if err := s.AddWebhookEndpoint(rc.srv.URL, hookSecret); err != nil {
		t.Fatal(err)
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")))
	waitIdle(t, s)
	if n := len(rc.received()); n != 0 {
		t.Errorf("%d deliveries with webhooks off", n)
	}
	listed := mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"delivery_success": {"false"}}))
	if len(ids(listed)) != 3 {
		t.Errorf("Events API lists %d undelivered events, want 3", len(ids(listed)))
	}
	s.RedeliverAll()
	waitIdle(t, s)
	var gotIDs, wantIDs []string
	for _, d := range rc.received() {
		gotIDs = append(gotIDs, d.eventID)
	}
	for _, e := range s.Events() {
		wantIDs = append(wantIDs, e.ID)
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("RedeliverAll sends every event, oldest first (-want +got):\n%s", diff)
	}
}

func TestWebhookDuplicates(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetWebhookOptions(WebhookOptions{Duplicates: 2, Concurrency: 4})
	rc := newReceiver(t)
	if err := s.AddWebhookEndpoint(rc.srv.URL, hookSecret); err != nil {
		t.Fatal(err)
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")))
	waitIdle(t, s)
	count := map[string]int{}
	for _, d := range rc.received() {
		count[d.eventID]++
	}
	for _, e := range s.Events() {
		if count[e.ID] != 3 {
			t.Errorf("event %s delivered %d times, want 1 + 2 duplicates", e.Type, count[e.ID])
		}
	}
}

func TestWebhookShuffle(t *testing.T) {
	s := NewServer(t, Options{Seed: 1})
	for range 6 {
		mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")))
	}
	s.SetWebhookOptions(WebhookOptions{Shuffle: true})
	rc := newReceiver(t)
	if err := s.AddWebhookEndpoint(rc.srv.URL, hookSecret); err != nil {
		t.Fatal(err)
	}
	s.RedeliverAll() // 18 events queued at once
	waitIdle(t, s)
	var want, got []string
	for _, e := range s.Events() {
		want = append(want, e.ID)
	}
	for _, d := range rc.received() {
		got = append(got, d.eventID)
	}
	if slices.Equal(want, got) {
		t.Error("Shuffle delivered in event order")
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shuffled deliveries are not each event once (-want +got):\n%s", diff)
	}
}

func TestCloseStopsDelivery(t *testing.T) {
	s := New(Options{})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s.SetWebhookOptions(WebhookOptions{RetryBackoff: time.Hour})
	rc := newReceiver(t, 500)
	if err := s.AddWebhookEndpoint(rc.srv.URL, hookSecret); err != nil {
		t.Fatal(err)
	}
	s.DeleteCustomer(s.CreateCustomer(Customer{}))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for len(s.Deliveries()) == 0 {
		if ctx.Err() != nil {
			t.Fatal("no delivery attempt")
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for an hour-long retry")
	}
	if err := s.WaitIdle(ctx); err != nil {
		t.Errorf("WaitIdle after Close: %v", err)
	}
}

func TestSignPayload(t *testing.T) {
	// Computed independently: printf '1712650000.{"id":"evt_1"}' |
	// openssl dgst -sha256 -hmac whsec_test_secret_123
	got := SignPayload([]byte(`{"id":"evt_1"}`), hookSecret, time.Unix(1_712_650_000, 0))
	want := "t=1712650000,v1=49a23c0034f1939d3c060fb7da762f86935c73abb4e34c7f0bef90ba8b671393"
	if got != want {
		t.Errorf("SignPayload = %q, want %q", got, want)
	}
}

func TestWebhookEnabledEvents(t *testing.T) {
	s := NewServer(t, Options{})
	all, some := newReceiver(t), newReceiver(t)
	if err := s.AddWebhookEndpoint(all.srv.URL, hookSecret, "*"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddWebhookEndpoint(some.srv.URL, hookSecret, "payment_intent.succeeded", "charge.succeeded"); err != nil {
		t.Fatal(err)
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")))
	waitIdle(t, s)
	types := func(rc *receiver) []string {
		var out []string
		for _, d := range rc.received() {
			out = append(out, decoded(t, Event{Payload: d.body})["type"].(string))
		}
		slices.Sort(out)
		return out
	}
	if diff := cmp.Diff([]string{"charge.succeeded", "payment_intent.created", "payment_intent.succeeded"}, types(all)); diff != "" {
		t.Errorf("endpoint for every type (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"charge.succeeded", "payment_intent.succeeded"}, types(some)); diff != "" {
		t.Errorf("endpoint for two types (-want +got):\n%s", diff)
	}
	for _, e := range s.Events() {
		want := float64(2)
		if e.Type == "payment_intent.created" {
			want = 1
		}
		if pending := decoded(t, e)["pending_webhooks"]; pending != want {
			t.Errorf("%s: pending_webhooks = %v, want %v", e.Type, pending, want)
		}
	}
	s.RedeliverAll()
	waitIdle(t, s)
	if n := len(some.received()); n != 4 {
		t.Errorf("after RedeliverAll the two-type endpoint got %d deliveries, want 4", n)
	}
}

func TestConnectWebhookEndpoints(t *testing.T) {
	s := NewServer(t, Options{})
	if _, err := s.AddConnectedAccount(ConnectedAccount{ID: "acct_1Alpha", ChargesEnabled: true}); err != nil {
		t.Fatal(err)
	}
	platform, connect, connectPaid := newReceiver(t), newReceiver(t), newReceiver(t)
	if err := s.AddWebhookEndpoint(platform.srv.URL, hookSecret); err != nil {
		t.Fatal(err)
	}
	if err := s.AddConnectWebhookEndpoint(connect.srv.URL, "whsec_connect_secret"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddConnectWebhookEndpoint(connectPaid.srv.URL, hookSecret, "payment_intent.succeeded"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddConnectWebhookEndpoint("ftp://x", hookSecret); err == nil {
		t.Error("a Connect endpoint with a bad URL was accepted")
	}
	mine := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")))["id"]
	theirs := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa"), "Stripe-Account", "acct_1Alpha"))["id"]
	waitIdle(t, s)

	// paymentOf is the PaymentIntent an event is about.
	paymentOf := func(ev map[string]any) any {
		obj, _ := field(ev, "data", "object").(map[string]any)
		if obj["object"] == "charge" {
			return obj["payment_intent"]
		}
		return obj["id"]
	}
	check := func(rc *receiver, secret string, account any, pi any, want int) {
		t.Helper()
		got := rc.received()
		if len(got) != want {
			t.Errorf("%d deliveries, want %d", len(got), want)
		}
		for _, d := range got {
			m := decoded(t, Event{Payload: d.body})
			if acct, ok := m["account"]; acct != account || ok != (account != nil) {
				t.Errorf("%s delivered with account %v (present %v), want %v", m["type"], acct, ok, account)
			}
			if paymentOf(m) != pi {
				t.Errorf("%s is about %v, want %v", m["type"], paymentOf(m), pi)
			}
			if !verify(d.header.Get("Stripe-Signature"), d.body, secret) {
				t.Errorf("%s: signature does not verify with the endpoint's secret", m["type"])
			}
		}
	}
	check(platform, hookSecret, nil, mine, 3)
	check(connect, "whsec_connect_secret", "acct_1Alpha", theirs, 3)
	check(connectPaid, hookSecret, "acct_1Alpha", theirs, 1)
	for _, e := range s.Events() {
		want := float64(1)
		if e.Account != "" && e.Type == "payment_intent.succeeded" {
			want = 2
		}
		if got := decoded(t, e)["pending_webhooks"]; got != want {
			t.Errorf("%s of %q: pending_webhooks = %v, want %v", e.Type, e.Account, got, want)
		}
	}

	// The Events API splits them the same way.
	for acct, pi := range map[string]any{"": mine, "acct_1Alpha": theirs} {
		list := mustOK(t, send(t, s, http.MethodGet, "/v1/events", nil, "Stripe-Account", acct))
		if n := len(ids(list)); n != 3 {
			t.Errorf("events of %q: %d, want 3", acct, n)
		}
		for _, e := range list["data"].([]any) {
			if paymentOf(e.(map[string]any)) != pi {
				t.Errorf("events of %q list %v", acct, e)
			}
		}
	}

	s.RedeliverAll()
	waitIdle(t, s)
	if p, c := len(platform.received()), len(connect.received()); p != 6 || c != 6 {
		t.Errorf("after RedeliverAll: platform endpoint %d deliveries, Connect endpoint %d, want 6 each", p, c)
	}
}
