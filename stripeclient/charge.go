package stripeclient

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// Decline codes Charge gives a PaymentIntent that stopped in
// requires_action: nobody is there to act on it during the call.
const (
	// declineAuthRequired is a card that asks for 3-D Secure; it is
	// Stripe's own code for an off-session charge that needs the
	// customer, so both read alike in the failure inbox.
	declineAuthRequired = "authentication_required"
	// declineRequiresAction is any other action, such as verifying a
	// bank account with micro-deposits (Decline.DeclineCode then names
	// next_action.type, e.g. verify_with_microdeposits).
	declineRequiresAction = "requires_action"
)

// Charge creates and confirms, under idempotencyKey, a PaymentIntent for
// r.Amount with method r.PaymentMethodID of customer r.CustomerID, and
// returns it: Succeeded, or Processing for a bank account. It first reads
// the method to learn its type, which payment_method_types must name, and
// to refuse one saved on another customer (EINVALID); a method saved on
// none, such as a card Stripe.js has just made, is charged without being
// saved.
//
// With r.Microdeposits a bank account is confirmed with
// verification_method=microdeposits: Stripe sends the deposits and the
// PaymentIntent waits in requires_action (verify_with_microdeposits),
// which is then no failure but the Payment, AwaitingVerification, to be
// finished with VerifyMicrodeposits.
//
// A refused charge is EDECLINED wrapping a *stripesync.Decline: Stripe's
// 402 card error, a PaymentIntent left in requires_payment_method, or one
// that stopped in requires_action. Cards are confirmed with
// error_on_requires_action, so one that asks for 3-D Secure fails the
// attempt (authentication_required) and the PaymentIntent can be tried
// with another method; a bank account waiting for micro-deposit
// verification without r.Microdeposits stays in requires_action (Code
// requires_action, DeclineCode verify_with_microdeposits) and may still be
// paid once the customer verifies it, which the events report.
//
// MOTO applies to cards only, Mandate and Microdeposits to bank accounts
// only; each is ignored for the other type. A request Stripe would refuse
// (no customer, method or invoice, an amount it does not accept, a bank
// account in a currency other than USD) is EINVALID, and no PaymentIntent
// is created.
func (c *Client) Charge(ctx context.Context, r stripesync.ChargeRequest, idempotencyKey string) (stripesync.Payment, error) {
	if err := checkChargeRequest(r, idempotencyKey); err != nil {
		return stripesync.Payment{}, err
	}
	methodType := r.MethodType
	if methodType == "" {
		pm, err := c.paymentMethod(ctx, r.PaymentMethodID)
		if err != nil {
			return stripesync.Payment{}, err
		}
		if pm.Customer != nil && pm.Customer.ID != r.CustomerID {
			return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID,
				"Payment method %s belongs to another customer", r.PaymentMethodID)
		}
		methodType = string(pm.Type)
	}
	params, err := chargeParams(r, methodType)
	if err != nil {
		return stripesync.Payment{}, err
	}
	params.SetIdempotencyKey(idempotencyKey)
	pi, err := c.confirmIntent(ctx, "charge invoice "+r.InvoiceID, params)
	if err != nil {
		return stripesync.Payment{}, err
	}
	return chargeResult(pi, r.Microdeposits)
}

func checkChargeRequest(r stripesync.ChargeRequest, idempotencyKey string) error {
	if err := checkIdempotencyKey(idempotencyKey); err != nil {
		return err
	}
	if err := checkCustomerID(r.CustomerID); err != nil {
		return err
	}
	if err := checkMethodID(r.PaymentMethodID); err != nil {
		return err
	}
	if strings.TrimSpace(r.InvoiceID) == "" {
		return stripesync.Errorf(stripesync.EINVALID, "stripe: charge: no invoice id: the payment could not be matched to its invoice")
	}
	return r.Amount.ValidateCharge()
}

// chargeParams builds the PaymentIntent for r with a method of methodType
// (without the idempotency key).
func chargeParams(r stripesync.ChargeRequest, methodType string) (*stripe.PaymentIntentParams, error) {
	params := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(r.Amount.Amount),
		Currency:           stripe.String(r.Amount.StripeCurrency()),
		Customer:           stripe.String(r.CustomerID),
		PaymentMethod:      stripe.String(r.PaymentMethodID),
		PaymentMethodTypes: stripe.StringSlice([]string{methodType}),
		Confirm:            stripe.Bool(true),
		Description:        optional(r.Description),
	}
	params.AddMetadata(stripesync.MetadataInvoiceID, r.InvoiceID)
	if r.Channel != "" {
		params.AddMetadata(stripesync.MetadataChannel, r.Channel)
	}
	if r.OffSession {
		params.OffSession = stripe.Bool(true)
	}
	switch methodType {
	case stripesync.MethodTypeCard:
		params.ErrorOnRequiresAction = stripe.Bool(true)
		if r.MOTO {
			params.PaymentMethodOptions = &stripe.PaymentIntentPaymentMethodOptionsParams{
				Card: &stripe.PaymentIntentPaymentMethodOptionsCardParams{MOTO: stripe.Bool(true)},
			}
		}
	case stripesync.MethodTypeBank:
		if r.Amount.Currency != "USD" {
			return nil, stripesync.Errorf(stripesync.EINVALID,
				"stripe: charge: a US bank account can only pay in USD, not %s", r.Amount.Currency)
		}
		if r.Microdeposits {
			params.PaymentMethodOptions = &stripe.PaymentIntentPaymentMethodOptionsParams{
				USBankAccount: &stripe.PaymentIntentPaymentMethodOptionsUSBankAccountParams{
					VerificationMethod: stripe.String(string(stripe.PaymentIntentPaymentMethodOptionsUSBankAccountVerificationMethodMicrodeposits)),
				},
			}
		}
		if m := r.Mandate; m != nil {
			params.MandateData = &stripe.PaymentIntentMandateDataParams{CustomerAcceptance: mandateAcceptance(*m)}
		}
	default:
		return nil, stripesync.Errorf(stripesync.EINVALID,
			"stripe: charge: payment method %s is of type %q; the daemon charges cards and US bank accounts", r.PaymentMethodID, methodType)
	}
	params.AddExpand("latest_charge")
	return params, nil
}

// confirmIntent creates (and so confirms) the PaymentIntent of params. A
// card error or any 402 becomes EDECLINED.
func (c *Client) confirmIntent(ctx context.Context, op string, params *stripe.PaymentIntentParams) (*stripe.PaymentIntent, error) {
	var pi *stripe.PaymentIntent
	err := c.call(ctx, op, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		pi, err = c.api.PaymentIntents.New(params)
		return err
	})
	var se *stripe.Error
	if errors.As(err, &se) && (se.Type == stripe.ErrorTypeCard || se.HTTPStatusCode == http.StatusPaymentRequired) {
		d := &stripesync.Decline{Code: string(se.Code), DeclineCode: string(se.DeclineCode), Message: se.Msg}
		if se.PaymentIntent != nil {
			d.PaymentIntentID = se.PaymentIntent.ID
		}
		return nil, declined(d)
	}
	return pi, err
}

// chargeResult maps a confirmed PaymentIntent: succeeded and processing
// are the Payment, and so is one waiting for micro-deposits when the
// caller asked for them (microdeposits); a failed attempt or another
// pending action is EDECLINED.
func chargeResult(pi *stripe.PaymentIntent, microdeposits bool) (stripesync.Payment, error) {
	p := toPayment(pi)
	switch {
	case p.Status == stripesync.PaymentSucceeded || p.Status == stripesync.PaymentProcessing,
		microdeposits && p.Status == stripesync.PaymentAwaitingVerification:
		return p, nil
	}
	switch pi.Status {
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		d := &stripesync.Decline{Code: "payment_failed", Message: "The payment failed.", PaymentIntentID: pi.ID}
		if e := pi.LastPaymentError; e != nil {
			d.Code = cmp.Or(string(e.Code), d.Code)
			d.DeclineCode = string(e.DeclineCode)
			d.Message = cmp.Or(e.Msg, d.Message)
		}
		return stripesync.Payment{}, declined(d)
	case stripe.PaymentIntentStatusRequiresAction:
		d := &stripesync.Decline{Code: declineRequiresAction, PaymentIntentID: pi.ID,
			Message: "The payment needs an action by the customer before it can go through."}
		if na := pi.NextAction; na != nil {
			d.DeclineCode = string(na.Type)
			switch na.Type {
			case stripe.PaymentIntentNextActionTypeVerifyWithMicrodeposits:
				d.Message = "The bank account must be verified with micro-deposits before this payment can go through."
			case stripe.PaymentIntentNextActionTypeUseStripeSDK, stripe.PaymentIntentNextActionTypeRedirectToURL:
				d.Code, d.DeclineCode = declineAuthRequired, declineAuthRequired
				d.Message = "The card issuer asks the customer to authenticate this payment."
			}
		}
		return stripesync.Payment{}, declined(d)
	}
	return stripesync.Payment{}, stripesync.Errorf(stripesync.EINTERNAL,
		"stripe: charge: PaymentIntent %s is %s after confirmation", pi.ID, pi.Status)
}

// declined is the EDECLINED error of d; its message is d's, safe to show
// the payer. The *stripe.Error is left out of the chain: it carries the
// PaymentIntent's client_secret.
func declined(d *stripesync.Decline) error {
	return &stripesync.Error{Code: stripesync.EDECLINED, Message: cmp.Or(d.Message, "The payment was declined."), Err: d}
}

// mandateAcceptance is m as mandate_data[customer_acceptance].
func mandateAcceptance(m stripesync.MandateAcceptance) *stripe.PaymentIntentMandateDataCustomerAcceptanceParams {
	ca := &stripe.PaymentIntentMandateDataCustomerAcceptanceParams{}
	if !m.AcceptedAt.IsZero() {
		ca.AcceptedAt = stripe.Int64(m.AcceptedAt.Unix())
	}
	if m.Offline {
		ca.Type = stripe.String(string(stripe.MandateCustomerAcceptanceTypeOffline))
		ca.Offline = &stripe.PaymentIntentMandateDataCustomerAcceptanceOfflineParams{}
		return ca
	}
	ca.Type = stripe.String(string(stripe.MandateCustomerAcceptanceTypeOnline))
	ca.Online = &stripe.PaymentIntentMandateDataCustomerAcceptanceOnlineParams{
		IPAddress: stripe.String(m.IPAddress),
		UserAgent: stripe.String(m.UserAgent),
	}
	return ca
}
