package stripeclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

const (
	whsec    = "whsec_current_5b0c9d"
	whsecOld = "whsec_previous_77aa10"
)

// eventJSON is a small but real-shaped event.
const eventJSON = `{"id":"evt_1","object":"event","api_version":"2023-10-16","created":1712650000,` +
	`"data":{"object":{"id":"pi_1","object":"payment_intent","amount":12500,"latest_charge":"ch_1"}},` +
	`"livemode":false,"pending_webhooks":1,"request":{"id":"req_1","idempotency_key":null},"type":"payment_intent.succeeded"}`

func TestVerifyWebhook(t *testing.T) {
	now := time.Unix(1_712_650_000, 0)
	payload := []byte(eventJSON)
	sign := func(secret string, at time.Time) string { return stripetest.SignPayload(payload, secret, at) }
	v1 := func(secret string) string {
		_, v, _ := strings.Cut(sign(secret, now), ",v1=")
		return v
	}
	otherVersion := []byte(strings.Replace(eventJSON, "2023-10-16", "2024-06-20", 1))
	ts := strconv.FormatInt(now.Unix(), 10)

	tests := []struct {
		name    string
		payload []byte
		header  string
		secrets []string
		want    error  // nil: verifies
		msg     string // in the error message
	}{
		{name: "good", header: sign(whsec, now), secrets: []string{whsec}},
		{name: "signed with the old secret while rolling", header: sign(whsecOld, now), secrets: []string{whsec, whsecOld}},
		{name: "two v1 entries, the second matches", header: "t=" + ts + ",v1=" + v1(whsecOld) + ",v1=" + v1(whsec), secrets: []string{whsec}},
		{name: "v0 entries are ignored", header: sign(whsec, now) + ",v0=deadbeef", secrets: []string{whsec}},
		{name: "within the tolerance", header: sign(whsec, now.Add(-299*time.Second)), secrets: []string{whsec}},
		{name: "other api_version accepted", payload: otherVersion,
			header: stripetest.SignPayload(otherVersion, whsec, now), secrets: []string{whsec}},
		{name: "missing header", header: "", secrets: []string{whsec}, want: ErrNoSignature, msg: "no signature"},
		{name: "no v1 entry", header: "t=" + ts + ",v0=abc", secrets: []string{whsec}, want: ErrNoSignature, msg: "no signature"},
		{name: "undecodable v1 is skipped", header: "t=" + ts + ",v1=zz", secrets: []string{whsec}, want: ErrNoSignature, msg: "no signature"},
		{name: "bad signature", header: sign("whsec_wrong", now), secrets: []string{whsec}, want: ErrBadSignature, msg: "bad signature"},
		{name: "tampered payload", payload: []byte(strings.Replace(eventJSON, "12500", "99999", 1)),
			header: sign(whsec, now), secrets: []string{whsec}, want: ErrBadSignature, msg: "bad signature"},
		{name: "stale", header: sign(whsec, now.Add(-301*time.Second)), secrets: []string{whsec}, want: ErrStaleSignature, msg: "timestamp outside the tolerance"},
		{name: "future", header: sign(whsec, now.Add(301*time.Second)), secrets: []string{whsec}, want: ErrStaleSignature, msg: "timestamp outside the tolerance"},
		{name: "malformed part", header: "t=" + ts + ",v1", secrets: []string{whsec}, want: ErrMalformedSignature, msg: "malformed signature header"},
		{name: "non-integer t", header: "t=soon,v1=" + v1(whsec), secrets: []string{whsec}, want: ErrMalformedSignature, msg: "malformed signature header"},
		{name: "no t", header: "v1=" + v1(whsec), secrets: []string{whsec}, want: ErrMalformedSignature, msg: "malformed signature header"},
		{name: "no secret configured", header: sign(whsec, now), secrets: nil, msg: "no webhook secret"},
		{name: "malformed JSON", payload: []byte(`{"id":"evt_1",`),
			header: stripetest.SignPayload([]byte(`{"id":"evt_1",`), whsec, now), secrets: []string{whsec}, want: ErrMalformedEvent, msg: "malformed JSON"},
		{name: "no type", payload: []byte(`{"id":"evt_1"}`),
			header: stripetest.SignPayload([]byte(`{"id":"evt_1"}`), whsec, now), secrets: []string{whsec}, want: ErrMalformedEvent, msg: "missing type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.payload
			if p == nil {
				p = payload
			}
			e, err := VerifyWebhook(p, tt.header, tt.secrets, 0, now)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("VerifyWebhook: %v", err)
				}
				if e.ID != "evt_1" || e.Type != stripesync.EventPaymentIntentSucceeded || e.PaymentIntentID != "pi_1" {
					t.Errorf("event %+v", e)
				}
				return
			}
			if stripesync.CodeOf(err) != stripesync.EINVALID || !strings.Contains(stripesync.MessageOf(err), tt.msg) {
				t.Errorf("err = %v, want EINVALID with %q", err, tt.msg)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.want)
			}
			for _, secret := range []string{whsec, whsecOld} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a secret", err)
				}
			}
		})
	}
	if _, err := VerifyWebhook(payload, sign(whsec, now.Add(-10*time.Second)), []string{whsec}, 5*time.Second, now); !errors.Is(err, ErrStaleSignature) {
		t.Errorf("a tolerance of 5s: %v, want stale", err)
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want stripesync.Event
	}{
		{"charge names its PaymentIntent",
			`{"id":"evt_2","type":"charge.refunded","created":1712650001,"api_version":"2023-10-16","account":"acct_1X","data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_2","customer":"cus_1"},"previous_attributes":{"amount_refunded":0}}}`,
			stripesync.Event{ID: "evt_2", Type: "charge.refunded", Created: time.Unix(1712650001, 0).UTC(), APIVersion: "2023-10-16",
				Account: "acct_1X", ObjectID: "ch_1", PaymentIntentID: "pi_2"}},
		{"dispute with an expanded payment_intent",
			`{"id":"evt_3","type":"charge.dispute.created","data":{"object":{"id":"dp_1","object":"dispute","payment_intent":{"id":"pi_3","object":"payment_intent"}}}}`,
			stripesync.Event{ID: "evt_3", Type: "charge.dispute.created", ObjectID: "dp_1", PaymentIntentID: "pi_3"}},
		{"checkout session",
			`{"id":"evt_4","type":"checkout.session.completed","data":{"object":{"id":"cs_test_1","object":"checkout.session","payment_intent":"pi_4"}}}`,
			stripesync.Event{ID: "evt_4", Type: "checkout.session.completed", ObjectID: "cs_test_1", PaymentIntentID: "pi_4"}},
		{"checkout session without a PaymentIntent",
			`{"id":"evt_5","type":"checkout.session.completed","data":{"object":{"id":"cs_test_2","object":"checkout.session","payment_intent":null}}}`,
			stripesync.Event{ID: "evt_5", Type: "checkout.session.completed", ObjectID: "cs_test_2"}},
		{"customer deleted",
			`{"id":"evt_6","type":"customer.deleted","data":{"object":{"id":"cus_9","object":"customer","deleted":true}}}`,
			stripesync.Event{ID: "evt_6", Type: "customer.deleted", ObjectID: "cus_9", CustomerID: "cus_9"}},
		{"something else",
			`{"id":"evt_7","type":"product.created","data":{"object":{"id":"prod_1","object":"product"}}}`,
			stripesync.Event{ID: "evt_7", Type: "product.created", ObjectID: "prod_1"}},
	}
	for _, tt := range tests {
		got, err := ParseEvent([]byte(tt.raw))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		tt.want.Payload = []byte(tt.raw)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	for _, bad := range []string{``, `[]`, `{"type":"x"}`, `{"id":"evt_1"}`, `{"id":1,"type":"x"}`, `not json`} {
		if _, err := ParseEvent([]byte(bad)); stripesync.CodeOf(err) != stripesync.EINVALID || !errors.Is(err, ErrMalformedEvent) {
			t.Errorf("ParseEvent(%q) = %v, want EINVALID", bad, err)
		}
	}
}

// TestEmulatorWebhooksVerify runs the emulator's real deliveries through
// VerifyWebhook, as the daemon's endpoint does.
func TestEmulatorWebhooksVerify(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	var mu sync.Mutex
	var got []stripesync.Event
	var failures []error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e, err := VerifyWebhook(body, r.Header.Get("Stripe-Signature"), []string{whsec}, 0, time.Now())
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures = append(failures, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got = append(got, e)
	}))
	t.Cleanup(hook.Close)
	if err := srv.AddWebhookEndpoint(hook.URL, whsec); err != nil {
		t.Fatal(err)
	}
	cus := srv.CreateCustomer(stripetest.Customer{})
	pi, err := srv.Pay(stripetest.PayParams{Customer: cus, Amount: 5000, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Dispute(pi); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.CompleteCheckout(stripetest.CheckoutParams{Amount: 5000, Currency: "usd"}); err != nil {
		t.Fatal(err)
	}
	srv.DeleteCustomer(cus)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := srv.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("deliveries refused: %v", failures)
	}
	events := srv.Events()
	if len(got) != len(events) {
		t.Fatalf("%d verified deliveries for %d events", len(got), len(events))
	}
	sawPI := map[string]bool{}
	for i, e := range events {
		var env struct {
			Data struct {
				Object map[string]any `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(e.Payload, &env); err != nil {
			t.Fatal(err)
		}
		obj := env.Data.Object
		want := stripesync.Event{ID: e.ID, Type: e.Type, ObjectID: obj["id"].(string), Payload: e.Payload,
			APIVersion: "2023-10-16", Created: e.Created.Truncate(time.Second).UTC()}
		switch obj["object"] {
		case "payment_intent":
			want.PaymentIntentID = want.ObjectID
		case "customer":
			want.CustomerID = want.ObjectID
		default:
			want.PaymentIntentID, _ = obj["payment_intent"].(string)
		}
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("delivery %d (%s) (-want +got):\n%s", i, e.Type, diff)
		}
		sawPI[got[i].PaymentIntentID] = true
	}
	if !sawPI[pi] || len(sawPI) != 3 { // Pay's, the checkout's, and "" for the customer
		t.Errorf("PaymentIntents named: %v", sawPI)
	}
}

// FuzzVerifyWebhook checks that no input makes VerifyWebhook panic, and
// that any event signed with the secret verifies with its id and type.
func FuzzVerifyWebhook(f *testing.F) {
	now := time.Unix(1_712_650_000, 0)
	f.Add([]byte(eventJSON), stripetest.SignPayload([]byte(eventJSON), whsec, now), "evt_1", "payment_intent.succeeded", int64(0))
	f.Add([]byte(`{}`), "t=1,v1=00", "evt_x", "charge.refunded", int64(-400))
	f.Add([]byte(`{"id":"evt_1"`), "t=,v1=,v1", "e", "t", int64(299))
	f.Add([]byte(``), ",,,=", "\"quoted\"", "\\", int64(1<<40))
	f.Fuzz(func(t *testing.T, body []byte, header, id, typ string, skew int64) {
		// Arbitrary input: an answer, never a panic, and never a pass
		// without a v1 made with the secret for the header's t.
		if _, err := VerifyWebhook(body, header, []string{whsec}, 0, now); err == nil {
			var signedAt int64
			for _, part := range strings.Split(header, ",") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
					signedAt, _ = strconv.ParseInt(v, 10, 64)
				}
			}
			good := stripetest.SignPayload(body, whsec, time.Unix(signedAt, 0))
			if _, v1, _ := strings.Cut(good, ",v1="); !strings.Contains(strings.ToLower(header), v1) {
				t.Errorf("verified without the right v1: header %q", header)
			}
		}

		// An event signed with the secret within the tolerance verifies.
		if id == "" || typ == "" {
			return
		}
		payload, err := json.Marshal(map[string]any{
			"id": id, "type": typ, "object": "event", "data": map[string]any{"object": map[string]any{"id": "pi_1", "object": "payment_intent"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		at := now.Add(time.Duration(skew%300) * time.Second)
		e, err := VerifyWebhook(payload, stripetest.SignPayload(payload, whsec, at), []string{"whsec_other", whsec}, 0, now)
		if err != nil {
			t.Fatalf("signed payload %s: %v", payload, err)
		}
		// JSON carries text: invalid UTF-8 arrives as U+FFFD, so compare
		// with what the payload says.
		var want struct{ ID, Type string }
		if err := json.Unmarshal(payload, &want); err != nil {
			t.Fatal(err)
		}
		if e.ID != want.ID || e.Type != want.Type || string(e.Payload) != string(payload) {
			t.Errorf("parsed %+v from %s", e, payload)
		}
	})
}

// BenchmarkVerifyWebhook measures the webhook hot path on a real-shaped
// payment_intent.succeeded event from the emulator (about 1.5 KB).
func BenchmarkVerifyWebhook(b *testing.B) {
	srv := stripetest.New(stripetest.Options{})
	defer srv.Close()
	if _, err := srv.Pay(stripetest.PayParams{Amount: 12500, Currency: "usd", Metadata: map[string]string{
		stripesync.MetadataInvoiceID: "a01000000000001AAA", stripesync.MetadataChannel: stripesync.ChannelPaymentLink,
	}}); err != nil {
		b.Fatal(err)
	}
	var payload []byte
	for _, e := range srv.Events() {
		if e.Type == stripesync.EventPaymentIntentSucceeded {
			payload = e.Payload
		}
	}
	now := time.Now()
	header := stripetest.SignPayload(payload, whsec, now)
	secrets := []string{whsec}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyWebhook(payload, header, secrets, 0, now); err != nil {
			b.Fatal(err)
		}
	}
}
