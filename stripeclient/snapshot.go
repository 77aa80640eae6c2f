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

// snapshotEnvelope is the part of an event a snapshot is decoded from.
type snapshotEnvelope struct {
	Data struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
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
	var kind struct {
		Object string `json:"object"`
	}
	if json.Unmarshal(env.Data.Object, &kind) != nil {
		return stripesync.PaymentSnapshot{}, false
	}
	switch kind.Object {
	case "payment_intent":
		var pi stripe.PaymentIntent
		if json.Unmarshal(env.Data.Object, &pi) != nil || pi.ID != e.PaymentIntentID ||
			pi.Status == "" || pi.Currency == "" || pi.Created == 0 {
			return stripesync.PaymentSnapshot{}, false // not a whole PaymentIntent
		}
		return intentSnapshot(&pi)
	case "charge":
		var ch stripe.Charge
		if json.Unmarshal(env.Data.Object, &ch) != nil || ch.PaymentIntent == nil || ch.PaymentIntent.ID != e.PaymentIntentID ||
			ch.Status == "" || ch.Created == 0 {
			return stripesync.PaymentSnapshot{}, false // not a whole charge
		}
		return chargeSnapshot(&ch), true
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
func intentSnapshot(pi *stripe.PaymentIntent) (stripesync.PaymentSnapshot, bool) {
	var latest string
	if pi.LatestCharge != nil {
		latest = pi.LatestCharge.ID
	}
	pi.LatestCharge = nil // a bare id: its fields are not the charge's
	p := toPayment(pi)
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
func chargeSnapshot(ch *stripe.Charge) stripesync.PaymentSnapshot {
	p := stripesync.Payment{
		ID:            ch.PaymentIntent.ID,
		ChargeID:      ch.ID,
		ChargeCreated: unixTime(ch.Created),
		Refunded:      ch.AmountRefunded,
		Disputed:      ch.Disputed,
	}
	p.Method, p.MethodDetail = describeMethod(ch.PaymentMethodDetails)
	var status stripesync.PaymentStatus
	switch {
	case ch.Status == stripe.ChargeStatusSucceeded && ch.Captured:
		status = stripesync.PaymentSucceeded
		p.PaidAt = p.ChargeCreated
	case ch.Status == stripe.ChargeStatusSucceeded:
		status = stripesync.PaymentPending
	case ch.Status == stripe.ChargeStatusPending:
		status = stripesync.PaymentProcessing
	case ch.Status == stripe.ChargeStatusFailed:
		status = stripesync.PaymentFailed
		var reason string
		if ch.Outcome != nil {
			reason = ch.Outcome.Reason
		}
		p.FailureReason = failureReason(&stripe.Error{
			DeclineCode: stripe.DeclineCode(cmp.Or(reason, ch.FailureCode)), Msg: ch.FailureMessage,
		})
	}
	return stripesync.PaymentSnapshot{Payment: p, Charge: true, ChargeStatus: status}
}
