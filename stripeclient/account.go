package stripeclient

import (
	"context"
	"errors"
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// ConnectedAccount is what the daemon needs to know of a connected account
// before it acts for it (Connect direct charges).
type ConnectedAccount struct {
	ID string
	// ChargesEnabled is false until the account's onboarding is finished
	// (or while Stripe has disabled it): it cannot take charges.
	ChargesEnabled   bool
	PayoutsEnabled   bool
	DetailsSubmitted bool
	// DisabledReason is Stripe's requirements.disabled_reason, e.g.
	// "requirements.past_due"; "" when nothing is disabled.
	DisabledReason string
}

// Account reads connected account id (GET /v1/accounts/{id}), as the
// platform asks about its connected accounts: this one request goes
// without Stripe-Account whatever Config.Account says.
//
// An account the key cannot act for is ENOTFOUND, whether it does not
// exist or the platform has no access to it: Stripe answers both with a
// 403 (a 404 resource_missing is read the same way). The message is
// Stripe's, which says which of the two a restricted key lacking the
// permission hit. A refused key is EUNAUTHORIZED; an outage, a timeout or
// a rate limit, after the usual retries, are EUNAVAILABLE or ERATELIMITED.
func (c *Client) Account(ctx context.Context, id string) (ConnectedAccount, error) {
	if !accountRE.MatchString(id) {
		return ConnectedAccount{}, stripesync.Errorf(stripesync.EINVALID, "stripe: %q is not an account id (acct_…)", id)
	}
	params := &stripe.AccountParams{}
	var got *stripe.Account
	err := c.call(asPlatform(ctx), "retrieve account "+id, func(ctx context.Context) error {
		params.Context = ctx
		var err error
		got, err = c.api.Accounts.GetByID(id, params)
		return err
	})
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode == http.StatusForbidden {
		return ConnectedAccount{}, stripesync.WrapError(stripesync.ENOTFOUND, err, "stripe: retrieve account %s: %s", id, se.Msg)
	}
	if err != nil {
		return ConnectedAccount{}, err
	}
	a := ConnectedAccount{
		ID: got.ID, ChargesEnabled: got.ChargesEnabled, PayoutsEnabled: got.PayoutsEnabled,
		DetailsSubmitted: got.DetailsSubmitted,
	}
	if got.Requirements != nil {
		a.DisabledReason = string(got.Requirements.DisabledReason)
	}
	return a, nil
}
