package stripeclient

import (
	"context"

	"github.com/stripe/stripe-go/v76"
)

// BillingPortalURL creates a Billing Portal session for customer
// customerID and returns its URL, which Stripe lets expire soon when it
// is not visited: create one each time a customer asks. returnURL is
// where the portal's back link leads ("" leaves the portal
// configuration's default). A missing customer is ENOTFOUND.
//
// Like SetDefaultMethod's, the idempotency key is fixed across this
// call's retries and new for each call: a session is worth nothing once
// expired, and a key derived from the customer would make Stripe replay
// an old, perhaps expired, URL.
func (c *Client) BillingPortalURL(ctx context.Context, customerID, returnURL string) (string, error) {
	if err := checkCustomerID(customerID); err != nil {
		return "", err
	}
	params := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(customerID),
		ReturnURL: optional(returnURL),
	}
	params.SetIdempotencyKey(callKey("create-billing-portal-session", customerID))
	var got *stripe.BillingPortalSession
	err := c.call(ctx, "create billing portal session for customer "+customerID, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		got, err = c.api.BillingPortalSessions.New(params)
		return err
	})
	if err != nil {
		return "", err
	}
	return got.URL, nil
}
