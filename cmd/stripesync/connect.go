package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient"
)

// accountCheckTimeout bounds the start check of STRIPE_ACCOUNT, retries
// included: a Stripe that does not answer by then is an outage, and the
// daemon starts without the answer.
const accountCheckTimeout = 20 * time.Second

// accountReader reads a connected account (stripeclient.Client.Account).
type accountReader interface {
	Account(ctx context.Context, id string) (stripeclient.ConnectedAccount, error)
}

// checkStripeAccount is the start check of Connect direct charges: with
// STRIPE_ACCOUNT set, a command that uses Stripe first reads the account
// (GET /v1/accounts/{id}, once, with the client's usual retries) and
// refuses to run with a *ConfigError (exit 2) when the key cannot act for
// it (Stripe's 403, or a 404), when Stripe refuses the key itself (401),
// or when the account cannot take charges yet (charges_enabled false: its
// onboarding is not finished, Paigo's "not ready" state). Anything else
// (an outage, a timeout, a rate limit) says nothing about the
// configuration: the check is logged as skipped and the command goes on,
// so a Stripe incident at start neither stops the daemon nor sends it
// into a supervisor's restart loop; a wrong account would then show in
// every Stripe call's error, and in the next start's check.
func checkStripeAccount(ctx context.Context, stripe accountReader, account string, logger *slog.Logger) error {
	cctx, cancel := context.WithTimeout(ctx, accountCheckTimeout)
	defer cancel()
	a, err := stripe.Account(cctx, account)
	switch code := stripesync.CodeOf(err); {
	case err == nil:
	case code == stripesync.ENOTFOUND:
		return accountProblem(err, "STRIPE_ACCOUNT: %s is not an account this key can act for: check the account id, and that the platform key in STRIPE_SECRET_KEY is connected to it (%s)",
			account, stripesync.MessageOf(err))
	case code == stripesync.EUNAUTHORIZED:
		return accountProblem(err, "STRIPE_SECRET_KEY: Stripe refused the key while checking STRIPE_ACCOUNT %s (%s)",
			account, stripesync.MessageOf(err))
	case ctx.Err() != nil:
		return nil // stopped while checking: the command stops too
	default:
		logger.Warn("cannot check STRIPE_ACCOUNT now; going on without the check", "stripe_account", account, "error", err)
		return nil
	}
	if !a.ChargesEnabled {
		why := ""
		if a.DisabledReason != "" {
			why = " (Stripe: " + a.DisabledReason + ")"
		}
		return accountProblem(nil, "STRIPE_ACCOUNT: %s cannot take charges yet (its onboarding is not finished)%s", account, why)
	}
	logger.Info("acting for a connected account", "stripe_account", account, "payouts_enabled", a.PayoutsEnabled)
	return nil
}

// accountProblem is the *ConfigError of a failed start check.
func accountProblem(cause error, format string, args ...any) *ConfigError {
	msg := fmt.Sprintf(format, args...)
	err := errors.New(msg)
	if cause != nil {
		err = fmt.Errorf("%s: %w", msg, cause)
	}
	return &ConfigError{Problems: []string{msg}, err: err}
}
