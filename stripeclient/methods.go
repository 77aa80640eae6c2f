package stripeclient

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

func checkMethodID(id string) error {
	if strings.TrimSpace(id) == "" {
		return stripesync.Errorf(stripesync.EINVALID, "stripe: payment method id is empty")
	}
	return nil
}

// paymentMethod reads payment method id; a missing one is ENOTFOUND.
func (c *Client) paymentMethod(ctx context.Context, id string) (*stripe.PaymentMethod, error) {
	params := &stripe.PaymentMethodParams{}
	var got *stripe.PaymentMethod
	err := c.call(ctx, "retrieve payment method "+id, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		got, err = c.api.PaymentMethods.Get(id, params)
		return err
	})
	return got, err
}

// SavedMethods lists the cards and US bank accounts saved on customer
// customerID, newest first as Stripe lists them, every page of them, and
// marks the customer's invoice_settings.default_payment_method Default.
// It costs one customer read and one list call per 100 methods. A
// missing or deleted customer is ENOTFOUND.
func (c *Client) SavedMethods(ctx context.Context, customerID string) ([]stripesync.SavedMethod, error) {
	if err := checkCustomerID(customerID); err != nil {
		return nil, err
	}
	cust, err := c.customer(ctx, customerID)
	if err != nil {
		return nil, err
	}
	if cust.Deleted {
		return nil, stripesync.Errorf(stripesync.ENOTFOUND, "stripe: customer %s is deleted", customerID)
	}
	var def string
	if s := cust.InvoiceSettings; s != nil && s.DefaultPaymentMethod != nil {
		def = s.DefaultPaymentMethod.ID
	}

	var methods []stripesync.SavedMethod
	page := func(after, _ string) ([]*stripe.PaymentMethod, bool, error) {
		return c.methodPage(ctx, customerID, after)
	}
	for items, err := range newestFirst(page, func(pm *stripe.PaymentMethod) string { return pm.ID }) {
		if err != nil {
			return nil, err
		}
		for _, pm := range items {
			if m, ok := toSavedMethod(pm, customerID); ok {
				m.Default = m.ID == def
				methods = append(methods, m)
			}
		}
	}
	return methods, nil
}

// methodPage fetches one page of a customer's payment methods of every
// type (one call instead of one per type; toSavedMethod keeps ours).
func (c *Client) methodPage(ctx context.Context, customerID, after string) ([]*stripe.PaymentMethod, bool, error) {
	params := &stripe.CustomerListPaymentMethodsParams{Customer: stripe.String(customerID)}
	params.Limit = stripe.Int64(listPageSize)
	params.Single = true
	if after != "" {
		params.StartingAfter = stripe.String(after)
	}
	var items []*stripe.PaymentMethod
	var more bool
	err := c.call(ctx, "list payment methods of customer "+customerID, func(ctx context.Context) error {
		params.Context = ctx
		it := c.api.Customers.ListPaymentMethods(params)
		if err := it.Err(); err != nil {
			return err
		}
		list := it.PaymentMethodList()
		items, more = list.Data, list.HasMore
		return nil
	})
	return items, more, err
}

// toSavedMethod maps a card or US bank account; ok is false for any other
// type.
func toSavedMethod(pm *stripe.PaymentMethod, customerID string) (stripesync.SavedMethod, bool) {
	m := stripesync.SavedMethod{ID: pm.ID, CustomerID: customerID, Type: string(pm.Type)}
	if pm.Customer != nil && pm.Customer.ID != "" {
		m.CustomerID = pm.Customer.ID
	}
	switch {
	case pm.Type == stripe.PaymentMethodTypeCard && pm.Card != nil:
		m.Brand = string(pm.Card.Brand)
		m.Last4 = pm.Card.Last4
		m.ExpMonth = int(pm.Card.ExpMonth)
		m.ExpYear = int(pm.Card.ExpYear)
	case pm.Type == stripe.PaymentMethodTypeUSBankAccount && pm.USBankAccount != nil:
		m.Last4 = pm.USBankAccount.Last4
		m.BankName = pm.USBankAccount.BankName
	default:
		return stripesync.SavedMethod{}, false
	}
	return m, true
}

// DetachMethod detaches payment method id from its customer. A method
// already detached (Stripe refuses to detach it again) is no error; a
// missing one is ENOTFOUND. A detached method can never be attached
// again, so the idempotency key is derived from the id alone.
func (c *Client) DetachMethod(ctx context.Context, id string) error {
	if err := checkMethodID(id); err != nil {
		return err
	}
	params := &stripe.PaymentMethodDetachParams{}
	params.SetIdempotencyKey("stripesync:detach-payment-method:" + id)
	err := c.call(ctx, "detach payment method "+id, func(ctx context.Context) error {
		params.Context = ctx
		_, err := c.api.PaymentMethods.Detach(id, params)
		return err
	})
	if stripesync.CodeOf(err) == stripesync.EINVALID {
		if pm, rerr := c.paymentMethod(ctx, id); rerr == nil && (pm.Customer == nil || pm.Customer.ID == "") {
			return nil
		}
	}
	return err
}

// SetDefaultMethod sets customer customerID's
// invoice_settings.default_payment_method to paymentMethodID, the method
// auto-pay charges. A missing customer is ENOTFOUND; a method not
// attached to the customer is EINVALID (Stripe's refusal).
//
// The idempotency key is fixed across this call's retries but new for
// each call: the update sets a value rather than creating anything, so
// repeating it is harmless, while a key derived from the two ids would
// make Stripe replay an old answer, without applying it, when a customer
// switches back to a method within a day (A, then B, then A again).
func (c *Client) SetDefaultMethod(ctx context.Context, customerID, paymentMethodID string) error {
	if err := checkCustomerID(customerID); err != nil {
		return err
	}
	if err := checkMethodID(paymentMethodID); err != nil {
		return err
	}
	params := &stripe.CustomerParams{
		InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String(paymentMethodID)},
	}
	params.SetIdempotencyKey(callKey("set-default-payment-method", customerID))
	return c.call(ctx, "set default payment method of customer "+customerID, func(ctx context.Context) error {
		params.Context = ctx
		_, err := c.api.Customers.Update(customerID, params)
		return err
	})
}

// callKey is an idempotency key for one call of a write that is safe to
// repeat but wrong to replay (see SetDefaultMethod): op, id and a random
// suffix, so that the call's own retries share it and no other call does.
// Writes that create something never use it: theirs come from the caller.
func callKey(op, id string) string {
	return "stripesync:" + op + ":" + id + ":" + rand.Text()
}
