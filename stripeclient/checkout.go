package stripeclient

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// Stripe's bounds on a Checkout Session's expires_at, from its creation.
// checkoutExpirySkew lets a session asked for exactly 30 minutes ahead
// through although the request reaches us a moment later; Stripe keeps
// the last word.
const (
	minCheckoutExpiry  = 30 * time.Minute
	maxCheckoutExpiry  = 24 * time.Hour
	checkoutExpirySkew = time.Minute
)

// CreateCheckoutSession opens a Checkout Session for r under
// idempotencyKey, so a retry or a rerun with the same key opens at most
// one. A request Stripe would refuse (no customer, no methods, a bank
// account in a currency other than USD, an amount under Stripe's minimum,
// an expiry outside 30 minutes to 24 hours from now) is EINVALID and
// nothing is sent.
func (c *Client) CreateCheckoutSession(ctx context.Context, r stripesync.CheckoutRequest, idempotencyKey string) (stripesync.CheckoutSession, error) {
	if err := checkIdempotencyKey(idempotencyKey); err != nil {
		return stripesync.CheckoutSession{}, err
	}
	params, err := checkoutParams(r, time.Now())
	if err != nil {
		return stripesync.CheckoutSession{}, err
	}
	params.SetIdempotencyKey(idempotencyKey)
	op := "create checkout session"
	if r.InvoiceID != "" {
		op += " for invoice " + r.InvoiceID
	}
	var got *stripe.CheckoutSession
	err = c.call(ctx, op, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		got, err = c.api.CheckoutSessions.New(params)
		return err
	})
	if err != nil {
		return stripesync.CheckoutSession{}, err
	}
	return toCheckoutSession(got), nil
}

// checkoutParams validates r and builds the session's parameters (without
// the idempotency key). now is the moment the expiry is measured from.
func checkoutParams(r stripesync.CheckoutRequest, now time.Time) (*stripe.CheckoutSessionParams, error) {
	invalid := func(format string, args ...any) (*stripe.CheckoutSessionParams, error) {
		return nil, stripesync.Errorf(stripesync.EINVALID, "stripe: checkout session: "+format, args...)
	}
	if err := checkCustomerID(r.CustomerID); err != nil {
		return nil, err
	}
	if len(r.Methods) == 0 {
		return invalid("no payment method types offered")
	}
	for _, m := range r.Methods {
		if m != stripesync.MethodTypeCard && m != stripesync.MethodTypeBank {
			return invalid("payment method type %q is not one the daemon offers (card, us_bank_account)", m)
		}
	}
	bank := slices.Contains(r.Methods, stripesync.MethodTypeBank)
	if strings.TrimSpace(r.SuccessURL) == "" {
		return invalid("success URL is empty")
	}
	if r.ExpiresAt.IsZero() {
		return invalid("expiry is not set")
	}
	if ahead := r.ExpiresAt.Sub(now); ahead < minCheckoutExpiry-checkoutExpirySkew || ahead > maxCheckoutExpiry {
		return invalid("expiry %s is %s ahead; Stripe allows 30 minutes to 24 hours",
			r.ExpiresAt.UTC().Format(time.RFC3339), ahead.Round(time.Second))
	}

	params := &stripe.CheckoutSessionParams{
		Customer:           stripe.String(r.CustomerID),
		PaymentMethodTypes: stripe.StringSlice(r.Methods),
		SuccessURL:         stripe.String(r.SuccessURL),
		CancelURL:          optional(r.CancelURL),
		ExpiresAt:          stripe.Int64(r.ExpiresAt.Unix()),
	}
	if bank {
		// Financial Connections when the customer can, micro-deposits
		// when not.
		params.PaymentMethodOptions = &stripe.CheckoutSessionPaymentMethodOptionsParams{
			USBankAccount: &stripe.CheckoutSessionPaymentMethodOptionsUSBankAccountParams{
				VerificationMethod: stripe.String(string(stripe.CheckoutSessionPaymentMethodOptionsUSBankAccountVerificationMethodAutomatic)),
			},
		}
	}
	if r.InvoiceID != "" {
		params.AddMetadata(stripesync.MetadataInvoiceID, r.InvoiceID)
		params.ClientReferenceID = stripe.String(r.InvoiceID)
	}

	switch r.Mode {
	case stripesync.CheckoutPayment:
		if err := r.Amount.ValidateCharge(); err != nil {
			return nil, err
		}
		if bank && r.Amount.Currency != "USD" {
			return invalid("a US bank account can only pay in USD, not %s", r.Amount.Currency)
		}
		if r.InvoiceID == "" {
			return invalid("no invoice id: the payment could not be matched to its invoice")
		}
		if strings.TrimSpace(r.Description) == "" {
			return invalid("description (the line item's name) is empty")
		}
		params.Mode = stripe.String(string(stripe.CheckoutSessionModePayment))
		params.LineItems = []*stripe.CheckoutSessionLineItemParams{{
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(r.Amount.StripeCurrency()),
				UnitAmount:  stripe.Int64(r.Amount.Amount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(r.Description)},
			},
			Quantity: stripe.Int64(1),
		}}
		// Session metadata stays on the session; the PaymentIntent gets
		// only payment_intent_data's.
		pi := &stripe.CheckoutSessionPaymentIntentDataParams{Description: stripe.String(r.Description)}
		pi.AddMetadata(stripesync.MetadataInvoiceID, r.InvoiceID)
		if r.Channel != "" {
			pi.AddMetadata(stripesync.MetadataChannel, r.Channel)
		}
		if r.SaveMethod {
			pi.SetupFutureUsage = stripe.String(string(stripe.PaymentIntentSetupFutureUsageOffSession))
		}
		params.PaymentIntentData = pi
	case stripesync.CheckoutSetup:
		// Stripe needs a currency in setup mode only without
		// payment_method_types, which are always sent; one given is passed
		// on.
		if r.Amount.Currency != "" {
			cur, err := stripesync.NormalizeCurrency(r.Amount.Currency)
			if err != nil {
				return nil, err
			}
			if bank && cur != "USD" {
				return invalid("a US bank account can only be set up in USD, not %s", cur)
			}
			params.Currency = stripe.String(strings.ToLower(cur))
		}
		params.Mode = stripe.String(string(stripe.CheckoutSessionModeSetup))
	default:
		return invalid("mode %q is neither payment nor setup", r.Mode)
	}
	return params, nil
}

// CheckoutSession reads Checkout Session id as it is now; a missing one
// is ENOTFOUND.
func (c *Client) CheckoutSession(ctx context.Context, id string) (stripesync.CheckoutSession, error) {
	if err := checkSessionID(id); err != nil {
		return stripesync.CheckoutSession{}, err
	}
	params := &stripe.CheckoutSessionParams{}
	var got *stripe.CheckoutSession
	err := c.call(ctx, "retrieve checkout session "+id, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		got, err = c.api.CheckoutSessions.Get(id, params)
		return err
	})
	if err != nil {
		return stripesync.CheckoutSession{}, err
	}
	return toCheckoutSession(got), nil
}

// ExpireCheckoutSession expires session id so it can no longer be paid.
// A session that is no longer open (complete, or expired already) is
// read and returned as it is: Stripe refuses to expire it, and that
// refusal is the answer the caller wanted. Expiring is final, so the
// idempotency key is derived from the id alone.
func (c *Client) ExpireCheckoutSession(ctx context.Context, id string) (stripesync.CheckoutSession, error) {
	if err := checkSessionID(id); err != nil {
		return stripesync.CheckoutSession{}, err
	}
	params := &stripe.CheckoutSessionExpireParams{}
	params.SetIdempotencyKey("stripesync:expire-checkout-session:" + id)
	var got *stripe.CheckoutSession
	err := c.call(ctx, "expire checkout session "+id, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		got, err = c.api.CheckoutSessions.Expire(id, params)
		return err
	})
	if stripesync.CodeOf(err) == stripesync.EINVALID {
		s, rerr := c.CheckoutSession(ctx, id)
		if rerr == nil && s.Status != stripesync.CheckoutOpen {
			return s, nil
		}
		return stripesync.CheckoutSession{}, err
	}
	if err != nil {
		return stripesync.CheckoutSession{}, err
	}
	return toCheckoutSession(got), nil
}

func checkSessionID(id string) error {
	if strings.TrimSpace(id) == "" {
		return stripesync.Errorf(stripesync.EINVALID, "stripe: checkout session id is empty")
	}
	return nil
}

// toCheckoutSession maps a Checkout Session. Amount is set in payment
// mode only; URL only while the session is open.
func toCheckoutSession(s *stripe.CheckoutSession) stripesync.CheckoutSession {
	out := stripesync.CheckoutSession{
		ID:            s.ID,
		Mode:          stripesync.CheckoutMode(s.Mode),
		Status:        string(s.Status),
		PaymentStatus: string(s.PaymentStatus),
		InvoiceID:     s.Metadata[stripesync.MetadataInvoiceID],
		ExpiresAt:     unixTime(s.ExpiresAt),
	}
	if out.Status == stripesync.CheckoutOpen {
		out.URL = s.URL
	}
	if out.Mode == stripesync.CheckoutPayment {
		out.Amount = stripesync.Money{Amount: s.AmountTotal, Currency: strings.ToUpper(string(s.Currency))}
	}
	if s.Customer != nil {
		out.CustomerID = s.Customer.ID
	}
	if s.PaymentIntent != nil {
		out.PaymentIntentID = s.PaymentIntent.ID
	}
	if s.SetupIntent != nil {
		out.SetupIntentID = s.SetupIntent.ID
	}
	return out
}
