package sync

import (
	"context"
	"strconv"
	"time"

	"github.com/stripesync/stripesync"
)

// DefaultCharge asks for an invoice's payable amount to be charged,
// off session, to the customer's default payment method: what auto-pay
// does on the due date, and what a retry from the failure inbox does.
type DefaultCharge struct {
	InvoiceID string
	// Key makes the charge idempotent: its reservation and its Stripe
	// idempotency key derive from it, so one key is one PaymentIntent
	// however often it is asked ("autopay:<invoice>:<due date>:<attempt>").
	Key     string
	Channel string // stripesync.ChannelAutoPay, …
	// FreshMethods reads the customer's methods from Stripe rather than
	// the ledger's copy: a retry staff ask for right after the customer
	// set a new default must charge that one, whereas auto-pay's daily
	// run trusts the copy the webhooks keep (and saves a call a charge).
	FreshMethods bool
}

// errNoDefaultMethod is the decline of a customer who has no default
// method to charge.
var errNoDefaultMethod = stripesync.WrapError(stripesync.EDECLINED,
	&stripesync.Decline{Code: "no_payment_method", Message: "The customer has no default payment method."},
	"The customer has no default payment method")

// ChargeDefault charges r's invoice, off session, for what can be paid
// now (the balance less pending debits and other payers' reservations),
// under the same no-overpay reservation as every other payment. A charge
// that was tried and failed returns, with its error, a Payment without an
// ID that carries the amount asked. A
// customer without a default method is EDECLINED with Decline code
// no_payment_method; an invoice with nothing to charge is ECONFLICT.
func (c *Collection) ChargeDefault(ctx context.Context, r DefaultCharge) (stripesync.Payment, error) {
	if r.InvoiceID == "" || r.Key == "" {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID, "a default charge needs its invoice and key")
	}
	holder := "charge:" + r.Key
	v, err := c.PayView(ctx, r.InvoiceID, holder)
	if err != nil {
		return stripesync.Payment{}, err
	}
	if !v.Open {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.ECONFLICT, "Invoice %s cannot be paid: it is %s", v.Invoice.Number, v.Rollup.Status)
	}
	if v.CustomerID == "" {
		return stripesync.Payment{}, errNotPushed
	}
	amount := v.Payable
	if amount.Amount <= 0 {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.ECONFLICT,
			"Nothing is left to charge on %s: its balance is covered by payments on their way", v.Invoice.Number)
	}
	if r.FreshMethods {
		// No copy, so freshMethods reads Stripe's (and saves it).
		_, fresh, err := c.freshMethods(ctx, v.CustomerID, nil, time.Time{})
		if err != nil {
			return stripesync.Payment{}, err
		}
		v.Methods = fresh
	}
	var method *stripesync.SavedMethod
	for i, m := range v.Methods {
		if m.Default && (m.Type == stripesync.MethodTypeCard || v.BankAllowed) {
			method = &v.Methods[i]
		}
	}
	if method == nil {
		return stripesync.Payment{}, errNoDefaultMethod
	}
	if err := checkCharge(v, amount); err != nil {
		return stripesync.Payment{}, err
	}
	if err := c.reserve(ctx, stripesync.Reservation{
		Key: holder, InvoiceID: v.Invoice.ID, Amount: amount, Holder: holder, ExpiresAt: c.now().Add(chargeHold),
	}); err != nil {
		return stripesync.Payment{}, err
	}
	req := stripesync.ChargeRequest{
		CustomerID: v.CustomerID, PaymentMethodID: method.ID, MethodType: method.Type, InvoiceID: v.Invoice.ID,
		Amount: amount, Channel: r.Channel, Description: "Invoice " + v.Invoice.Number, OffSession: true,
	}
	p, err := c.charge(ctx, v, holder, req, stripesync.IdempotencyKey("default", r.Key), c.repeatError, nil)
	if err != nil && p.ID == "" {
		// What was asked, for the failure inbox's entry of a decline.
		p = stripesync.Payment{InvoiceID: v.Invoice.ID, Amount: amount}
	}
	return p, err
}

// retryFailure tries again what failure f is about (see RetryFailure).
func (e *Engine) retryFailure(ctx context.Context, f stripesync.Failure, staff string) error {
	switch {
	case f.InvoiceID != "" && e.collect != nil:
		channel := stripesync.ChannelPhone
		if f.Source == stripesync.FailureAutoPay {
			channel = stripesync.ChannelAutoPay
		}
		// One key per second of retries of the entry: a retry asked twice
		// at once charges once, a later one is a new attempt (with the
		// method the customer may have changed meanwhile).
		key := "retry:" + f.Key + ":" + strconv.FormatInt(e.now().Unix(), 10)
		_, err := e.collect.ChargeDefault(ctx, DefaultCharge{InvoiceID: f.InvoiceID, Key: key, Channel: channel, FreshMethods: true})
		return err
	}
	return stripesync.Errorf(stripesync.EINVALID, "A %s failure cannot be retried from here: %s", f.Source, f.NextStep)
}
