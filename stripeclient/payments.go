package stripeclient

import (
	"cmp"
	"context"
	"iter"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// PaymentIntent reads PaymentIntent id as it is now, with its latest charge
// expanded (method, refunds, dispute), and maps it to a domain Payment. A
// missing one is ENOTFOUND.
func (c *Client) PaymentIntent(ctx context.Context, id string) (stripesync.Payment, error) {
	if strings.TrimSpace(id) == "" {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID, "stripe: payment intent id is empty")
	}
	params := &stripe.PaymentIntentParams{}
	params.AddExpand("latest_charge")
	var got *stripe.PaymentIntent
	err := c.call(ctx, "retrieve payment intent "+id, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		got, err = c.api.PaymentIntents.Get(id, params)
		return err
	})
	if err != nil {
		return stripesync.Payment{}, err
	}
	return toPayment(got), nil
}

// PaymentIntents streams the PaymentIntents created at or after since
// (to the second; zero means all), oldest first, each with its latest
// charge. Pages of 100 are fetched as the caller iterates and only one is
// held at a time; see oldestFirst for the walk and its cost. The first
// error is yielded with a zero Payment and ends the stream.
func (c *Client) PaymentIntents(ctx context.Context, since time.Time) iter.Seq2[stripesync.Payment, error] {
	return func(yield func(stripesync.Payment, error) bool) {
		page := func(after, before string) ([]*stripe.PaymentIntent, bool, error) {
			return c.paymentIntentPage(ctx, since, after, before)
		}
		oldestFirst(page, func(pi *stripe.PaymentIntent) string { return pi.ID },
			func(pi *stripe.PaymentIntent, err error) bool {
				if err != nil {
					return yield(stripesync.Payment{}, err)
				}
				return yield(toPayment(pi), nil)
			})
	}
}

// paymentIntentPage fetches one page of PaymentIntents created at or after
// since, in Stripe's order (newest first), after or before a cursor.
func (c *Client) paymentIntentPage(ctx context.Context, since time.Time, after, before string) ([]*stripe.PaymentIntent, bool, error) {
	params := &stripe.PaymentIntentListParams{}
	params.Limit = stripe.Int64(listPageSize)
	params.Single = true
	if s := since.Unix(); s > 0 {
		params.CreatedRange = &stripe.RangeQueryParams{GreaterThanOrEqual: s}
	}
	if after != "" {
		params.StartingAfter = stripe.String(after)
	}
	if before != "" {
		params.EndingBefore = stripe.String(before)
	}
	params.AddExpand("data.latest_charge")
	var items []*stripe.PaymentIntent
	var more bool
	err := c.call(ctx, "list payment intents", func(ctx context.Context) error {
		params.Context = ctx
		it := c.api.PaymentIntents.List(params)
		if err := it.Err(); err != nil {
			return err
		}
		// The list's Data keeps Stripe's order; the iterator would
		// reverse pages fetched with ending_before.
		list := it.PaymentIntentList()
		items, more = list.Data, list.HasMore
		return nil
	})
	return items, more, err
}

// toPayment maps a PaymentIntent (with its latest charge expanded) to the
// ledger's Payment. AccountID is metadata[crm_account_id] when the daemon
// made the payment; the engine fills it from the customer link otherwise.
func toPayment(pi *stripe.PaymentIntent) stripesync.Payment {
	p := stripesync.Payment{
		ID:        pi.ID,
		InvoiceID: pi.Metadata[stripesync.MetadataInvoiceID],
		AccountID: pi.Metadata[stripesync.MetadataAccountID],
		Amount:    stripesync.Money{Amount: pi.Amount, Currency: strings.ToUpper(string(pi.Currency))},
		Status:    paymentStatus(pi),
		Channel:   cmp.Or(pi.Metadata[stripesync.MetadataChannel], stripesync.ChannelStripe),
		Created:   unixTime(pi.Created),
	}
	if pi.Customer != nil {
		p.CustomerID = pi.Customer.ID
	}
	if e := pi.LastPaymentError; e != nil {
		p.FailureReason = failureReason(e)
	}
	if ch := pi.LatestCharge; ch != nil {
		p.ChargeID = ch.ID
		p.ChargeCreated = unixTime(ch.Created)
		p.Refunded = ch.AmountRefunded
		p.Disputed = ch.Disputed
		p.Method, p.MethodDetail = describeMethod(ch.PaymentMethodDetails)
		if p.Status == stripesync.PaymentSucceeded {
			p.PaidAt = p.ChargeCreated
		}
	}
	return p
}

// unixTime is t in UTC, or the zero time for 0 (a field Stripe left out,
// as in an unexpanded charge).
func unixTime(t int64) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(t, 0).UTC()
}

// paymentStatus maps Stripe's PaymentIntent status. A PaymentIntent back in
// requires_payment_method after an attempt (last_payment_error set) failed;
// one waiting for its bank account's micro-deposits to be confirmed awaits
// verification; one that was never confirmed, or waits for the customer
// otherwise, is pending.
func paymentStatus(pi *stripe.PaymentIntent) stripesync.PaymentStatus {
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return stripesync.PaymentSucceeded
	case stripe.PaymentIntentStatusProcessing:
		return stripesync.PaymentProcessing
	case stripe.PaymentIntentStatusCanceled:
		return stripesync.PaymentCanceled
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		if pi.LastPaymentError != nil {
			return stripesync.PaymentFailed
		}
	case stripe.PaymentIntentStatusRequiresAction:
		if na := pi.NextAction; na != nil && na.Type == stripe.PaymentIntentNextActionTypeVerifyWithMicrodeposits {
			return stripesync.PaymentAwaitingVerification
		}
	}
	return stripesync.PaymentPending
}

// failureReason is "decline_code: message" (or the error code when there
// is no decline code), e.g. "insufficient_funds: Your card has
// insufficient funds."
func failureReason(e *stripe.Error) string {
	code := cmp.Or(string(e.DeclineCode), string(e.Code))
	switch {
	case code == "":
		return e.Msg
	case e.Msg == "":
		return code
	}
	return code + ": " + e.Msg
}

// typeUSBankAccount is the ACH Direct Debit method type; stripe-go v76 has
// no constant for it.
const typeUSBankAccount stripe.ChargePaymentMethodDetailsType = "us_bank_account"

// describeMethod returns Payment.Method and MethodDetail for a charge's
// payment method: ("Card", "Visa •••• 4242") or ("ACH", "Bank •••• 6789").
// Other methods are ("", "").
func describeMethod(d *stripe.ChargePaymentMethodDetails) (method, detail string) {
	switch {
	case d == nil:
		return "", ""
	case d.Type == stripe.ChargePaymentMethodDetailsTypeCard && d.Card != nil:
		return stripesync.MethodCard, stripesync.CardBrandName(string(d.Card.Brand)) + " •••• " + d.Card.Last4
	case d.Type == typeUSBankAccount && d.USBankAccount != nil:
		return stripesync.MethodACH, "Bank •••• " + d.USBankAccount.Last4
	}
	return "", ""
}
