// Package stripeclient is the daemon's Stripe adapter: it implements
// [stripesync.Billing] and [stripesync.Collector] over stripe-go v76 (API
// version 2023-10-16).
//
// The engine (package sync) calls it through the Billing interface;
// cmd/stripesync builds it from STRIPE_SECRET_KEY, STRIPE_API_BASE and
// STRIPE_ACCOUNT. It is the only package that talks to Stripe.
//
// What it adds to stripe-go, and why:
//
//   - Retries are ours, not the library's (its MaxNetworkRetries is 0):
//     network errors, 409, every 429 and 5xx are retried with exponential
//     backoff and jitter, reusing the same parameters and so the same
//     Idempotency-Key, and honouring ctx and Stripe-Should-Retry. A 500 on a
//     POST is not retried unless Stripe asks for it, because Stripe saves
//     that 500 under the key and a retry would only replay it.
//   - Pacing: a token bucket on every HTTP attempt (retries included) keeps
//     the request rate under Stripe's limit (25/s in test mode, 100/s live)
//     even momentarily, and slows down further while Stripe answers 429.
//   - Writes must carry the caller's deterministic idempotency key; the
//     library's random per-call key would not survive a restart.
//   - Errors become [*stripesync.Error] values with stable codes, wrapping
//     the *stripe.Error. Nothing this package logs or returns contains the
//     API key.
//   - Connect: with Config.Account set, every request carries
//     Stripe-Account and an Idempotency-Key that starts with the account,
//     so one logical write never shares a key across accounts. Account
//     reads a connected account for the daemon's start check (can it act
//     for it, can it take charges).
//
// EventSnapshot decodes the PaymentIntent or charge an event carries, for
// the engine to apply through the ledger's state precedence; it refuses a
// payload it cannot rely on (an older API version, a cut-down object), and
// then PaymentIntent reads one with its latest charge. PaymentIntents and
// Events stream lists oldest first, a page at a time, for the safety-net
// pull. VerifyWebhook
// checks Stripe-Signature (rolling secrets, a tolerance both ways) and
// ParseEvent decodes only what routing an event needs; both are on the
// webhook hot path.
//
// The Collector side opens Checkout Sessions (payment mode for an
// invoice amount, setup mode to save a method), charges saved methods
// with PaymentIntents confirmed on the spot (a refusal is EDECLINED with
// a *stripesync.Decline), lists, detaches and sets the default of a
// customer's cards and bank accounts, and opens Billing Portal sessions.
// For staff on the phone it makes a bank account from the numbers the
// customer reads out (CreateBankMethod), charges it after micro-deposits
// (ChargeRequest.Microdeposits: the payment awaits verification, no
// decline) and reports the deposits back (VerifyMicrodeposits).
// Requests Stripe would refuse are refused before any call. EventSession
// and EventMethodCustomer decode the few fields of collection events the
// engine routes on, as EventSnapshot does for payments.
//
// Tests run it against the stateful emulator in package stripetest and
// replay every request shape against stripe-mock, which validates them
// against Stripe's OpenAPI spec.
package stripeclient
