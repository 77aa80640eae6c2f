package stripeclient

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// CreateBankMethod makes a us_bank_account PaymentMethod from the details a
// customer read out to staff and attaches it to customer customerID, so
// that it can be charged (with ChargeRequest.Microdeposits, since nobody
// verified the account yet) and offered again later. It costs two writes,
// the create and the attach, each under its own key derived from
// idempotencyKey, so a retry after a failure between the two creates no
// second method.
//
// Details that fail Validate are EINVALID and nothing is sent. A missing
// customer is ENOTFOUND; details Stripe refuses are EINVALID with its
// message. No message carries the account number: Stripe's do not repeat
// it, and neither do ours.
func (c *Client) CreateBankMethod(ctx context.Context, customerID string, d stripesync.BankAccountDetails, idempotencyKey string) (stripesync.SavedMethod, error) {
	createKey, attachKey := idempotencyKey+":create", idempotencyKey+":attach"
	if err := checkIdempotencyKey(idempotencyKey); err != nil {
		return stripesync.SavedMethod{}, err
	}
	if err := checkIdempotencyKey(attachKey); err != nil {
		return stripesync.SavedMethod{}, err
	}
	if err := checkCustomerID(customerID); err != nil {
		return stripesync.SavedMethod{}, err
	}
	if err := d.Validate(); err != nil {
		return stripesync.SavedMethod{}, err
	}

	params := &stripe.PaymentMethodParams{
		Type: stripe.String(string(stripe.PaymentMethodTypeUSBankAccount)),
		USBankAccount: &stripe.PaymentMethodUSBankAccountParams{
			RoutingNumber:     stripe.String(d.RoutingNumber),
			AccountNumber:     stripe.String(d.AccountNumber),
			AccountHolderType: stripe.String(d.HolderType),
		},
		BillingDetails: &stripe.PaymentMethodBillingDetailsParams{Name: stripe.String(d.HolderName)},
	}
	params.SetIdempotencyKey(createKey)
	var pm *stripe.PaymentMethod
	err := c.call(ctx, "create bank account payment method for customer "+customerID, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		pm, err = c.api.PaymentMethods.New(params)
		return err
	})
	if err != nil {
		return stripesync.SavedMethod{}, err
	}

	attach := &stripe.PaymentMethodAttachParams{Customer: stripe.String(customerID)}
	attach.SetIdempotencyKey(attachKey)
	err = c.call(ctx, "attach payment method "+pm.ID+" to customer "+customerID, func(ctx context.Context) error {
		attach.Context = ctx
		var err error
		pm, err = c.api.PaymentMethods.Attach(pm.ID, attach)
		return err
	})
	if err != nil {
		return stripesync.SavedMethod{}, err
	}
	m, ok := toSavedMethod(pm, customerID)
	if !ok {
		return stripesync.SavedMethod{}, stripesync.Errorf(stripesync.EINTERNAL,
			"stripe: payment method %s came back as %q, not a US bank account", pm.ID, pm.Type)
	}
	return m, nil
}

// attemptsLeftRE finds the count in Stripe's "You have 9 verification
// attempts remaining."
var attemptsLeftRE = regexp.MustCompile(`(\d+) verification attempts? remaining`)

// VerifyMicrodeposits reports what the customer read off their statement
// for PaymentIntent paymentIntentID, which waits for its bank account's
// micro-deposits (PaymentAwaitingVerification), and returns the payment as
// it is after: Processing once the account is verified and the debit
// started.
//
// Values that do not match are EINVALID, in words staff can read out ("The
// amounts do not match the micro-deposits; 9 attempts left."), with
// Stripe's count of attempts left; the PaymentIntent keeps waiting. When
// the last attempt fails, or the deposits were not verified in time, the
// PaymentIntent fails: EDECLINED wrapping a *stripesync.Decline, and the
// invoice must be paid another way. A PaymentIntent that is not waiting
// for micro-deposits is ECONFLICT; values that fail Validate are EINVALID
// and nothing is sent.
//
// Stripe saves each attempt's answer under its key, so every attempt
// needs a key of its own (derived from the values, for instance): reusing
// one with other values is ECONFLICT.
func (c *Client) VerifyMicrodeposits(ctx context.Context, paymentIntentID string, v stripesync.MicrodepositVerification, idempotencyKey string) (stripesync.Payment, error) {
	if err := checkIdempotencyKey(idempotencyKey); err != nil {
		return stripesync.Payment{}, err
	}
	if strings.TrimSpace(paymentIntentID) == "" {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID, "stripe: payment intent id is empty")
	}
	if err := v.Validate(); err != nil {
		return stripesync.Payment{}, err
	}
	params := &stripe.PaymentIntentVerifyMicrodepositsParams{}
	if v.DescriptorCode != "" {
		params.DescriptorCode = stripe.String(v.DescriptorCode)
	} else {
		params.Amounts = stripe.Int64Slice(v.Amounts)
	}
	params.AddExpand("latest_charge")
	params.SetIdempotencyKey(idempotencyKey)
	var pi *stripe.PaymentIntent
	err := c.call(ctx, "verify micro-deposits of payment intent "+paymentIntentID, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		pi, err = c.api.PaymentIntents.VerifyMicrodeposits(paymentIntentID, params)
		return err
	})
	if err != nil {
		return stripesync.Payment{}, verifyError(paymentIntentID, err)
	}
	return chargeResult(pi, true)
}

// verifyError words a refused verification for staff; other errors are
// left as call classified them. The errors it makes keep Stripe's code and
// message as their cause but not the *stripe.Error, whose text would carry
// the PaymentIntent's client_secret.
func verifyError(paymentIntentID string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return err
	}
	cause := fmt.Errorf("stripe: verify micro-deposits of payment intent %s: %s: %s", paymentIntentID, se.Code, se.Msg)
	left := "no count of the attempts left was given"
	if m := attemptsLeftRE.FindStringSubmatch(se.Msg); m != nil {
		left = m[1] + " attempts left"
		if m[1] == "1" {
			left = "1 attempt left"
		}
	}
	switch se.Code {
	case stripe.ErrorCodePaymentMethodMicrodepositVerificationAmountsMismatch:
		return stripesync.WrapError(stripesync.EINVALID, cause, "The amounts do not match the micro-deposits; %s.", left)
	case stripe.ErrorCodePaymentMethodMicrodepositVerificationDescriptorCodeMismatch:
		return stripesync.WrapError(stripesync.EINVALID, cause, "The descriptor code does not match the one on the statement; %s.", left)
	case stripe.ErrorCodePaymentMethodMicrodepositVerificationAttemptsExceeded:
		return declined(&stripesync.Decline{Code: string(se.Code), PaymentIntentID: paymentIntentID,
			Message: "The bank account could not be verified: too many wrong attempts. The payment failed; take it with another method."})
	case stripe.ErrorCodePaymentMethodMicrodepositVerificationTimeout:
		return declined(&stripesync.Decline{Code: string(se.Code), PaymentIntentID: paymentIntentID,
			Message: "The bank account was not verified in time. The payment failed; take it with another method."})
	case stripe.ErrorCodePaymentIntentUnexpectedState:
		return stripesync.WrapError(stripesync.ECONFLICT, cause,
			"Payment %s is not waiting for micro-deposits to be verified: %s", paymentIntentID, se.Msg)
	}
	return err
}
