package stripeclient_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient"
)

func parse(t *testing.T, raw string) stripesync.Event {
	t.Helper()
	e, err := stripeclient.ParseEvent([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEventSnapshot(t *testing.T) {
	intent := parse(t, `{"id":"evt_1","object":"event","api_version":"2023-10-16","created":1764633600,
		"type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":2500,
		"currency":"usd","status":"succeeded","created":1764633590,"customer":"cus_1","latest_charge":"ch_1",
		"metadata":{"crm_invoice_id":"a0X1","channel":"Phone"}}}}`)
	got, ok := stripeclient.EventSnapshot(intent)
	want := stripesync.PaymentSnapshot{
		Payment: stripesync.Payment{
			ID: "pi_1", InvoiceID: "a0X1", CustomerID: "cus_1", Amount: stripesync.Money{Amount: 2500, Currency: "USD"},
			Status: stripesync.PaymentSucceeded, Channel: stripesync.ChannelPhone, Created: time.Unix(1764633590, 0).UTC(),
			ChargeID: "ch_1",
		},
		Intent: true, LatestChargeID: "ch_1",
	}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("intent snapshot ok=%v (-want +got):\n%s", ok, diff)
	}

	charge := parse(t, `{"id":"evt_2","object":"event","api_version":"2024-06-20","created":1764633600,
		"type":"charge.failed","data":{"object":{"id":"ch_1","object":"charge","amount":2500,"currency":"usd",
		"status":"failed","captured":false,"created":1764633595,"payment_intent":"pi_1","amount_refunded":0,
		"failure_code":"card_declined","failure_message":"Your card has insufficient funds.",
		"outcome":{"reason":"insufficient_funds"},
		"payment_method_details":{"type":"card","card":{"brand":"visa","last4":"9995"}}}}}`)
	got, ok = stripeclient.EventSnapshot(charge)
	want = stripesync.PaymentSnapshot{
		Payment: stripesync.Payment{
			ID: "pi_1", ChargeID: "ch_1", ChargeCreated: time.Unix(1764633595, 0).UTC(),
			Method: stripesync.MethodCard, MethodDetail: "Visa •••• 9995",
			FailureReason: "insufficient_funds: Your card has insufficient funds.",
		},
		Charge: true, ChargeStatus: stripesync.PaymentFailed,
	}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("charge snapshot ok=%v (-want +got):\n%s", ok, diff)
	}

	micro := parse(t, `{"id":"evt_7","object":"event","api_version":"2024-06-20","created":1764633600,
		"type":"payment_intent.requires_action","data":{"object":{"id":"pi_2","object":"payment_intent","amount":3000,
		"currency":"usd","status":"requires_action","created":1764633590,"latest_charge":null,
		"next_action":{"type":"verify_with_microdeposits","verify_with_microdeposits":{"microdeposit_type":"descriptor_code"}}}}}`)
	if got, ok := stripeclient.EventSnapshot(micro); !ok || got.Payment.Status != stripesync.PaymentAwaitingVerification {
		t.Errorf("micro-deposit snapshot ok=%v status %q, want %q", ok, got.Payment.Status, stripesync.PaymentAwaitingVerification)
	}

	for name, raw := range map[string]string{
		"an object cut down to its id": `{"id":"evt_3","object":"event","api_version":"2023-10-16","created":1764633600,
			"type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent"}}}`,
		"an API version before latest_charge": `{"id":"evt_4","object":"event","api_version":"2020-08-27","created":1764633600,
			"type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":2500,
			"currency":"usd","status":"succeeded","created":1764633590,"charges":{"data":[]}}}}`,
		"a succeeded intent naming no charge": `{"id":"evt_5","object":"event","api_version":"2023-10-16","created":1764633600,
			"type":"payment_intent.succeeded","data":{"object":{"id":"pi_1","object":"payment_intent","amount":2500,
			"currency":"usd","status":"succeeded","created":1764633590,"latest_charge":null}}}`,
		"a dispute": `{"id":"evt_6","object":"event","api_version":"2023-10-16","created":1764633600,
			"type":"charge.dispute.created","data":{"object":{"id":"dp_1","object":"dispute","charge":"ch_1","payment_intent":"pi_1"}}}`,
	} {
		if s, ok := stripeclient.EventSnapshot(parse(t, raw)); ok {
			t.Errorf("%s: snapshot %+v, want none (the engine reads the object)", name, s)
		}
	}
}

// BenchmarkEventSnapshot decodes a pretty-printed payment_intent.succeeded
// of about 2.6 KB, as Stripe delivers it: the engine's cost per event in
// the common case.
func BenchmarkEventSnapshot(b *testing.B) {
	raw := []byte(`{
  "id": "evt_3Pbench",
  "object": "event",
  "api_version": "2023-10-16",
  "created": 1764633600,
  "data": {
    "object": {
      "id": "pi_3Pbench",
      "object": "payment_intent",
      "amount": 2500,
      "amount_capturable": 0,
      "amount_details": {"tip": {}},
      "amount_received": 2500,
      "application": null,
      "application_fee_amount": null,
      "automatic_payment_methods": {"allow_redirects": "always", "enabled": true},
      "canceled_at": null,
      "cancellation_reason": null,
      "capture_method": "automatic",
      "client_secret": "pi_3Pbench_secret_abcdefghijklmnopqrstuvwxyz",
      "confirmation_method": "automatic",
      "created": 1764633590,
      "currency": "usd",
      "customer": "cus_Pbench",
      "description": "Invoice INV-1001",
      "invoice": null,
      "last_payment_error": null,
      "latest_charge": "ch_3Pbench",
      "livemode": false,
      "metadata": {"crm_invoice_id": "a0X000000000001AAA", "channel": "Payment Link"},
      "next_action": null,
      "on_behalf_of": null,
      "payment_method": "pm_1Pbench",
      "payment_method_configuration_details": {"id": "pmc_1Pbench", "parent": null},
      "payment_method_options": {
        "card": {"installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic"},
        "us_bank_account": {"financial_connections": {"permissions": ["payment_method"], "prefetch": []}, "mandate_options": {}, "verification_method": "automatic"}
      },
      "payment_method_types": ["card", "us_bank_account"],
      "processing": null,
      "receipt_email": "billing@example.test",
      "review": null,
      "setup_future_usage": null,
      "shipping": null,
      "source": null,
      "statement_descriptor": null,
      "statement_descriptor_suffix": null,
      "status": "succeeded",
      "transfer_data": null,
      "transfer_group": null
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": "req_Pbench", "idempotency_key": "stripesync-pay-a0X000000000001AAA-1"},
  "type": "payment_intent.succeeded"
}`)
	e, err := stripeclient.ParseEvent(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := stripeclient.EventSnapshot(e); !ok {
			b.Fatal("no snapshot")
		}
	}
}
