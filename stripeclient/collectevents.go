package stripeclient

import (
	"encoding/json"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// The events of collection that EventSession and EventMethodCustomer
// read.
const (
	eventCheckoutExpired             = "checkout.session.expired"
	eventCheckoutAsyncPaymentSuccess = "checkout.session.async_payment_succeeded"
	eventCheckoutAsyncPaymentFailure = "checkout.session.async_payment_failed"
	eventMethodAttached              = "payment_method.attached"
	eventMethodDetached              = "payment_method.detached"
	eventMethodUpdated               = "payment_method.updated"
	eventMethodAutomaticallyUpdated  = "payment_method.automatically_updated"
	eventCustomerUpdated             = "customer.updated"
)

// sessionEnvelope is the part of a checkout.session.* event that
// EventSession maps: a few fields, not stripe-go's whole Checkout Session
// (line items, customer details, options), so decoding stays cheap.
type sessionEnvelope struct {
	Data struct {
		Object struct {
			ID            string            `json:"id"`
			Object        string            `json:"object"`
			URL           string            `json:"url"`
			Mode          string            `json:"mode"`
			Status        string            `json:"status"`
			PaymentStatus string            `json:"payment_status"`
			Customer      json.RawMessage   `json:"customer"`
			Metadata      map[string]string `json:"metadata"`
			AmountTotal   int64             `json:"amount_total"`
			Currency      string            `json:"currency"`
			PaymentIntent json.RawMessage   `json:"payment_intent"`
			SetupIntent   json.RawMessage   `json:"setup_intent"`
			ExpiresAt     int64             `json:"expires_at"`
		} `json:"object"`
	} `json:"data"`
}

// EventSession decodes the Checkout Session of a
// checkout.session.completed, expired, async_payment_succeeded or
// async_payment_failed event. ok is false for any other event and for a
// payload that does not decode or carries no session id.
func (c *Client) EventSession(e stripesync.Event) (stripesync.CheckoutSession, bool) {
	return EventSession(e)
}

// EventSession is Client.EventSession, which needs no client.
func EventSession(e stripesync.Event) (stripesync.CheckoutSession, bool) {
	switch e.Type {
	case stripesync.EventCheckoutCompleted, eventCheckoutExpired,
		eventCheckoutAsyncPaymentSuccess, eventCheckoutAsyncPaymentFailure:
	default:
		return stripesync.CheckoutSession{}, false
	}
	var env sessionEnvelope
	if json.Unmarshal(e.Payload, &env) != nil {
		return stripesync.CheckoutSession{}, false
	}
	o := &env.Data.Object
	if o.ID == "" || o.Object != "checkout.session" || o.Status == "" {
		return stripesync.CheckoutSession{}, false
	}
	s := &stripe.CheckoutSession{
		ID: o.ID, URL: o.URL, Mode: stripe.CheckoutSessionMode(o.Mode),
		Status: stripe.CheckoutSessionStatus(o.Status), PaymentStatus: stripe.CheckoutSessionPaymentStatus(o.PaymentStatus),
		Metadata: o.Metadata, AmountTotal: o.AmountTotal, Currency: stripe.Currency(o.Currency), ExpiresAt: o.ExpiresAt,
	}
	if id := expandableID(o.Customer); id != "" {
		s.Customer = &stripe.Customer{ID: id}
	}
	if id := expandableID(o.PaymentIntent); id != "" {
		s.PaymentIntent = &stripe.PaymentIntent{ID: id}
	}
	if id := expandableID(o.SetupIntent); id != "" {
		s.SetupIntent = &stripe.SetupIntent{ID: id}
	}
	return toCheckoutSession(s), true
}

// methodEnvelope is the part of a payment_method.* or customer.updated
// event that EventMethodCustomer reads.
type methodEnvelope struct {
	Data struct {
		Object struct {
			ID       string          `json:"id"`
			Object   string          `json:"object"`
			Customer json.RawMessage `json:"customer"`
		} `json:"object"`
		PreviousAttributes map[string]json.RawMessage `json:"previous_attributes"`
	} `json:"data"`
}

// EventMethodCustomer returns the customer whose saved methods e changed:
// data.object.customer for payment_method.attached, updated and
// automatically_updated (the card updater's new expiry), the customer the
// method was detached from (data.previous_attributes.customer) for
// payment_method.detached, and data.object.id for customer.updated. A
// customer.updated whose previous_attributes show that
// invoice_settings (and so the default method) did not change is not
// reported: the account push updates customers all the time. ok is false
// for any other event, or when no customer is named.
func (c *Client) EventMethodCustomer(e stripesync.Event) (string, bool) {
	return EventMethodCustomer(e)
}

// EventMethodCustomer is Client.EventMethodCustomer, which needs no
// client.
func EventMethodCustomer(e stripesync.Event) (string, bool) {
	switch e.Type {
	case eventMethodAttached, eventMethodDetached, eventMethodUpdated, eventMethodAutomaticallyUpdated, eventCustomerUpdated:
	default:
		return "", false
	}
	var env methodEnvelope
	if json.Unmarshal(e.Payload, &env) != nil {
		return "", false
	}
	var id string
	switch e.Type {
	case eventCustomerUpdated:
		if env.Data.Object.Object != "customer" {
			return "", false
		}
		if prev := env.Data.PreviousAttributes; prev != nil {
			if _, changed := prev["invoice_settings"]; !changed {
				return "", false
			}
		}
		id = env.Data.Object.ID
	case eventMethodDetached:
		id = expandableID(env.Data.PreviousAttributes["customer"])
	default:
		id = expandableID(env.Data.Object.Customer)
	}
	if id == "" {
		return "", false
	}
	return id, true
}
