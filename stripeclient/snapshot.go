package stripeclient

import (
	"cmp"
	"encoding/json"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// latestChargeAPI is the first API version whose PaymentIntent carries
// latest_charge instead of a charges list. An event rendered in an older
// version has another shape, so its snapshot is not used.
const latestChargeAPI = "2022-11-15"

// snapshotEnvelope is the part of an event a snapshot is decoded from:
// the fields of a PaymentIntent or a charge that the ledger keeps, and
// nothing else. The engine decodes every event it applies, so this stays
// small: decoding into stripe-go's full types cost several times more
// than accepting the event.
type snapshotEnvelope struct {
	Data struct {
		Object snapshotObject `json:"object"`
	} `json:"data"`
}

// snapshotObject holds the fields of both kinds of object; Object says
// which it is.
type snapshotObject struct {
	ID       string            `json:"id"`
	Object   string            `json:"object"`
	Amount   int64             `json:"amount"`
	Currency string            `json:"currency"`
	Status   string            `json:"status"`
	Created  int64             `json:"created"`
	Customer json.RawMessage   `json:"customer"`
	Metadata map[string]string `json:"metadata"`
	// PaymentIntent only.
	LatestCharge     json.RawMessage `json:"latest_charge"`
	LastPaymentError *struct {
		Code        string `json:"code"`
		DeclineCode string `json:"decline_code"`
		Message     string `json:"message"`
	} `json:"last_payment_error"`
	NextAction *struct {
		Type string `json:"type"`
	} `json:"next_action"`
	// Charge only.
	PaymentIntent  json.RawMessage `json:"payment_intent"`
	Captured       bool            `json:"captured"`
	AmountRefunded int64           `json:"amount_refunded"`
	Disputed       bool            `json:"disputed"`
	FailureCode    string          `json:"failure_code"`
	FailureMessage string          `json:"failure_message"`
	Outcome        *struct {
		Reason string `json:"reason"`
	} `json:"outcome"`
	PaymentMethodDetails *struct {
		Type string `json:"type"`
		Card *struct {
			Brand string `json:"brand"`
			Last4 string `json:"last4"`
		} `json:"card"`
		USBankAccount *struct {
			Last4 string `json:"last4"`
		} `json:"us_bank_account"`
	} `json:"payment_method_details"`
}

// EventSnapshot decodes the PaymentIntent or charge that e carries (see
// stripesync.PaymentSnapshot). ok is false for any other object, for an
// event rendered in an API version older than latest_charge, and for a
// payload that does not decode or lacks a field the ledger needs (status,
// currency, created: an object cut down to its id, as some relays send
// it): the engine then reads the object itself.
func (c *Client) EventSnapshot(e stripesync.Event) (stripesync.PaymentSnapshot, bool) {
	return EventSnapshot(e)
}

// EventSnapshot is Client.EventSnapshot, which needs no client.
func EventSnapshot(e stripesync.Event) (stripesync.PaymentSnapshot, bool) {
	if e.PaymentIntentID == "" || len(e.Payload) == 0 || apiDate(e.APIVersion) < latestChargeAPI {
		return stripesync.PaymentSnapshot{}, false
	}
	var env snapshotEnvelope
	if json.Unmarshal(e.Payload, &env) != nil {
		return stripesync.PaymentSnapshot{}, false
	}
	o := &env.Data.Object
	if o.Status == "" || o.Created == 0 {
		return stripesync.PaymentSnapshot{}, false // not a whole object
	}
	switch o.Object {
	case "payment_intent":
		if o.ID != e.PaymentIntentID || o.Currency == "" {
			return stripesync.PaymentSnapshot{}, false
		}
		return intentSnapshot(o)
	case "charge":
		if expandableID(o.PaymentIntent) != e.PaymentIntentID {
			return stripesync.PaymentSnapshot{}, false
		}
		return chargeSnapshot(o), true
	}
	return stripesync.PaymentSnapshot{}, false
}

// apiDate is the date part of an API version ("2024-06-20" of
// "2024-06-20", "2025-03-31" of "2025-03-31.basil"); dates compare as
// strings.
func apiDate(v string) string {
	d, _, _ := strings.Cut(v, ".")
	return d
}

// intentSnapshot maps a PaymentIntent whose latest_charge is a bare id.
// A PaymentIntent whose status implies an attempt but which names no
// charge is not the shape this client knows, and is not used.
func intentSnapshot(o *snapshotObject) (stripesync.PaymentSnapshot, bool) {
	pi := &stripe.PaymentIntent{
		ID: o.ID, Amount: o.Amount, Currency: stripe.Currency(o.Currency), Created: o.Created,
		Status: stripe.PaymentIntentStatus(o.Status), Metadata: o.Metadata,
	}
	if id := expandableID(o.Customer); id != "" {
		pi.Customer = &stripe.Customer{ID: id}
	}
	if e := o.LastPaymentError; e != nil {
		pi.LastPaymentError = &stripe.Error{Code: stripe.ErrorCode(e.Code), DeclineCode: stripe.DeclineCode(e.DeclineCode), Msg: e.Message}
	}
	if na := o.NextAction; na != nil {
		pi.NextAction = &stripe.PaymentIntentNextAction{Type: stripe.PaymentIntentNextActionType(na.Type)}
	}
	p := toPayment(pi)
	latest := expandableID(o.LatestCharge)
	attempted := p.Status == stripesync.PaymentSucceeded || p.Status == stripesync.PaymentProcessing ||
		p.Status == stripesync.PaymentFailed
	if attempted && latest == "" {
		return stripesync.PaymentSnapshot{}, false
	}
	p.ChargeID = latest
	return stripesync.PaymentSnapshot{Payment: p, Intent: true, LatestChargeID: latest}, true
}

// chargeSnapshot maps a charge, with the status it implies for its
// PaymentIntent: a captured, succeeded charge succeeded it; a pending one
// (ACH in flight) is processing; a failed one failed the attempt. An
// authorized charge not yet captured leaves the intent pending.
func chargeSnapshot(o *snapshotObject) stripesync.PaymentSnapshot {
	p := stripesync.Payment{
		ID:            expandableID(o.PaymentIntent),
		ChargeID:      o.ID,
		ChargeCreated: unixTime(o.Created),
		Refunded:      o.AmountRefunded,
		Disputed:      o.Disputed,
	}
	if d := o.PaymentMethodDetails; d != nil {
		details := &stripe.ChargePaymentMethodDetails{Type: stripe.ChargePaymentMethodDetailsType(d.Type)}
		if d.Card != nil {
			details.Card = &stripe.ChargePaymentMethodDetailsCard{Brand: stripe.PaymentMethodCardBrand(d.Card.Brand), Last4: d.Card.Last4}
		}
		if d.USBankAccount != nil {
			details.USBankAccount = &stripe.ChargePaymentMethodDetailsUSBankAccount{Last4: d.USBankAccount.Last4}
		}
		p.Method, p.MethodDetail = describeMethod(details)
	}
	var status stripesync.PaymentStatus
	switch stripe.ChargeStatus(o.Status) {
	case stripe.ChargeStatusSucceeded:
		status = stripesync.PaymentPending // authorized, not captured
		if o.Captured {
			status = stripesync.PaymentSucceeded
			p.PaidAt = p.ChargeCreated
		}
	case stripe.ChargeStatusPending:
		status = stripesync.PaymentProcessing
	case stripe.ChargeStatusFailed:
		status = stripesync.PaymentFailed
		var reason string
		if o.Outcome != nil {
			reason = o.Outcome.Reason
		}
		p.FailureReason = failureReason(&stripe.Error{
			DeclineCode: stripe.DeclineCode(cmp.Or(reason, o.FailureCode)), Msg: o.FailureMessage,
		})
	}
	return stripesync.PaymentSnapshot{Payment: p, Charge: true, ChargeStatus: status}
}
