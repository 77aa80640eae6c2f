package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
	"github.com/stripesync/stripesync/stripeclient"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

const whsec = "whsec_test_0123456789abcdef"

func webhookServer(t testing.TB, db *store.DB) (*httptest.Server, *int) {
	t.Helper()
	woken := new(int)
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{
		Webhook: &httpapi.WebhookConfig{
			Verify: func(payload []byte, sig string) (stripesync.Event, error) {
				return stripeclient.VerifyWebhook(payload, sig, []string{whsec}, 300*time.Second, time.Now())
			},
			Accept:   db.AcceptEvent,
			Accepted: func() { *woken++ },
		},
	}))
	t.Cleanup(srv.Close)
	return srv, woken
}

func eventJSON(id string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","created":%d,"type":"payment_intent.succeeded","livemode":false,"data":{"object":{"id":"pi_%s","object":"payment_intent","amount":2500,"currency":"usd","status":"succeeded"}}}`,
		id, time.Now().Unix(), id))
}

func post(t *testing.T, url string, body []byte, sig string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/stripe/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON: %q", raw)
	}
	return resp.StatusCode, out
}

func TestStripeWebhookStoresOnceThenAcknowledges(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, woken := webhookServer(t, db)
	body := eventJSON("evt_ok1")
	sig := stripetest.SignPayload(body, whsec, time.Now())

	status, out := post(t, srv.URL, body, sig)
	if status != http.StatusOK || out["duplicate"] != false {
		t.Fatalf("first delivery: %d %v", status, out)
	}
	status, out = post(t, srv.URL, body, sig)
	if status != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("second delivery: %d %v, want 200 duplicate", status, out)
	}
	if *woken != 1 {
		t.Errorf("worker woken %d times, want 1 (only for the new event)", *woken)
	}
	evs, err := db.ClaimEvents(t.Context(), 10, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID != "evt_ok1" || evs[0].PaymentIntentID != "pi_evt_ok1" || !bytes.Equal(evs[0].Payload, body) {
		t.Fatalf("inbox = %+v, want the one event with its raw payload", evs)
	}
}

func TestStripeWebhookRejectsHostileInputAndWritesNothing(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, woken := webhookServer(t, db)
	good := eventJSON("evt_hostile")
	oversized := []byte(fmt.Sprintf(`{"id":"evt_big","type":"payment_intent.succeeded","pad":%q}`,
		strings.Repeat("x", httpapi.DefaultWebhookMaxBody)))
	malformed := []byte(`{"id":"evt_bad","type":`)
	now := time.Now()
	cases := []struct {
		name string
		body []byte
		sig  string
	}{
		{"no signature", good, ""},
		{"wrong secret", good, stripetest.SignPayload(good, "whsec_other", now)},
		{"tampered body", append([]byte(`{"x":1,`), good[1:]...), stripetest.SignPayload(good, whsec, now)},
		{"stale timestamp", good, stripetest.SignPayload(good, whsec, now.Add(-301*time.Second))},
		{"garbled header", good, "t=abc,v1=zz"},
		{"oversized body", oversized, stripetest.SignPayload(oversized, whsec, now)},
		{"malformed JSON", malformed, stripetest.SignPayload(malformed, whsec, now)},
	}
	for _, c := range cases {
		status, out := post(t, srv.URL, c.body, c.sig)
		errObj, _ := out["error"].(map[string]any)
		if status != http.StatusBadRequest || errObj["code"] != string(stripesync.EINVALID) {
			t.Errorf("%s: %d %v, want 400 with an invalid error", c.name, status, out)
		}
		if msg, _ := errObj["message"].(string); strings.Contains(msg, whsec) {
			t.Errorf("%s: error message leaks the secret: %q", c.name, msg)
		}
	}
	evs, err := db.ClaimEvents(t.Context(), 10, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 || *woken != 0 {
		t.Errorf("hostile requests stored %d events and woke the worker %d times; want nothing", len(evs), *woken)
	}
}

func TestStripeWebhookAnswers503WhenItCannotStore(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, _ := webhookServer(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	body := eventJSON("evt_unstored")
	status, out := post(t, srv.URL, body, stripetest.SignPayload(body, whsec, time.Now()))
	if status != http.StatusServiceUnavailable {
		t.Errorf("with the database closed: %d %v, want 503 so Stripe retries", status, out)
	}
}

// A sender may stream the body without declaring its length (chunked):
// the handler reads it all the same, and still refuses one over the limit.
func TestStripeWebhookReadsABodyOfUndeclaredLength(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, _ := webhookServer(t, db)
	good := eventJSON("evt_chunked")
	oversized := []byte(fmt.Sprintf(`{"id":"evt_big","type":"payment_intent.succeeded","pad":%q}`,
		strings.Repeat("x", httpapi.DefaultWebhookMaxBody)))
	now := time.Now()
	for _, c := range []struct {
		body []byte
		want int
	}{{good, http.StatusOK}, {oversized, http.StatusBadRequest}} {
		// MultiReader hides the length from the client, which then sends
		// the body chunked.
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/stripe/webhook", io.MultiReader(bytes.NewReader(c.body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Stripe-Signature", stripetest.SignPayload(c.body, whsec, now))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.ContentLength != 0 || resp.StatusCode != c.want {
			t.Errorf("%d-byte chunked body: content length %d, status %d, want unknown length and %d",
				len(c.body), req.ContentLength, resp.StatusCode, c.want)
		}
	}
	evs, err := db.ClaimEvents(t.Context(), 10, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID != "evt_chunked" || !bytes.Equal(evs[0].Payload, good) {
		t.Errorf("inbox = %+v, want only the chunked event with its payload", evs)
	}
}

// connectEventJSON is eventJSON from account ("" for the platform).
func connectEventJSON(id, account string) []byte {
	body := eventJSON(id)
	if account == "" {
		return body
	}
	return bytes.Replace(body, []byte(`"object":"event",`), []byte(`"object":"event","account":"`+account+`",`), 1)
}

// connectWebhookServer is webhookServer for a daemon acting for account;
// it records the accounts of the events ignored and the log.
func connectWebhookServer(t *testing.T, db *store.DB, account string) (*httptest.Server, *[]string, *bytes.Buffer) {
	t.Helper()
	var (
		mu      sync.Mutex
		ignored []string
		logs    bytes.Buffer
	)
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, nil)),
		Webhook: &httpapi.WebhookConfig{
			Verify: func(payload []byte, sig string) (stripesync.Event, error) {
				return stripeclient.VerifyWebhook(payload, sig, []string{whsec}, 300*time.Second, time.Now())
			},
			Accept:  db.AcceptEvent,
			Account: account,
			Ignored: func(a string) {
				mu.Lock()
				defer mu.Unlock()
				ignored = append(ignored, a)
			},
		},
	}))
	t.Cleanup(srv.Close)
	return srv, &ignored, &logs
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestStripeWebhookIgnoresOtherAccounts: with an account configured, the
// events of other connected accounts and of the platform are verified,
// acknowledged, counted, logged once per account, and never stored; the
// account's own are stored as before.
func TestStripeWebhookIgnoresOtherAccounts(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, ignored, logs := connectWebhookServer(t, db, "acct_1Mine")
	for _, tc := range []struct {
		id, account string
		want        map[string]any
	}{
		{"evt_mine", "acct_1Mine", map[string]any{"duplicate": false, "received": true}},
		{"evt_other1", "acct_1Other", map[string]any{"ignored": "other_account", "received": true}},
		{"evt_other2", "acct_1Other", map[string]any{"ignored": "other_account", "received": true}},
		{"evt_platform", "", map[string]any{"ignored": "other_account", "received": true}},
	} {
		body := connectEventJSON(tc.id, tc.account)
		status, out := post(t, srv.URL, body, stripetest.SignPayload(body, whsec, time.Now()))
		if status != http.StatusOK || fmt.Sprint(out) != fmt.Sprint(tc.want) {
			t.Errorf("%s of %q: %d %v, want 200 %v", tc.id, tc.account, status, out, tc.want)
		}
	}
	// Another account's event is verified first: a bad signature is a 400
	// and counts nothing.
	forged := connectEventJSON("evt_forged", "acct_1Other")
	if status, _ := post(t, srv.URL, forged, stripetest.SignPayload(forged, "whsec_wrong_secret", time.Now())); status != http.StatusBadRequest {
		t.Errorf("a forged event of another account: %d, want 400", status)
	}
	evs, err := db.ClaimEvents(t.Context(), 10, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID != "evt_mine" {
		t.Errorf("stored %+v, want only evt_mine", evs)
	}
	if want := []string{"acct_1Other", "acct_1Other", ""}; fmt.Sprint(*ignored) != fmt.Sprint(want) {
		t.Errorf("ignored %q, want %q", *ignored, want)
	}
	text := logs.String()
	if n := strings.Count(text, "ignoring Stripe events of another account"); n != 2 ||
		!strings.Contains(text, "event_account=acct_1Other stripe_account=acct_1Mine event_id=evt_other1") ||
		!strings.Contains(text, "event_account=platform stripe_account=acct_1Mine event_id=evt_platform") {
		t.Errorf("%d log lines, want one for acct_1Other and one for the platform:\n%s", n, text)
	}
}

// TestStripeWebhookWithoutAccountIgnoresConnectedAccounts: a platform
// daemon behind a Connect endpoint applies none of the connected
// accounts' events.
func TestStripeWebhookWithoutAccountIgnoresConnectedAccounts(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, ignored, _ := connectWebhookServer(t, db, "")
	for _, account := range []string{"acct_1Connected", ""} {
		body := connectEventJSON("evt_of_"+account, account)
		if status, _ := post(t, srv.URL, body, stripetest.SignPayload(body, whsec, time.Now())); status != http.StatusOK {
			t.Errorf("event of %q: %d, want 200", account, status)
		}
	}
	evs, err := db.ClaimEvents(t.Context(), 10, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Account != "" || len(*ignored) != 1 || (*ignored)[0] != "acct_1Connected" {
		t.Errorf("stored %+v and ignored %q; want the platform's stored and the connected account's ignored", evs, *ignored)
	}
}

// TestStripeWebhookLogsABoundedSetOfAccounts: past the bound, new
// accounts are counted but no longer logged, and that is said once.
func TestStripeWebhookLogsABoundedSetOfAccounts(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, ignored, logs := connectWebhookServer(t, db, "acct_1Mine")
	const accounts = 105
	for i := range accounts {
		body := connectEventJSON(fmt.Sprintf("evt_%d", i), fmt.Sprintf("acct_1Other%d", i))
		if status, _ := post(t, srv.URL, body, stripetest.SignPayload(body, whsec, time.Now())); status != http.StatusOK {
			t.Fatalf("event %d: %d", i, status)
		}
	}
	text := logs.String()
	if n, full := strings.Count(text, "ignoring Stripe events of another account"), strings.Count(text, "more accounts than are logged"); n != 100 || full != 1 || len(*ignored) != accounts {
		t.Errorf("%d accounts logged, %d notices of the full set, %d ignored; want 100, 1, %d", n, full, len(*ignored), accounts)
	}
}
