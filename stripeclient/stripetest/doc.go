// Package stripetest is a stateful Stripe emulator served over real HTTP, for
// the adapter's tests, the engine's tests, the end-to-end test and the
// `stripesync emulate` / `stripesync demo` commands. It is never part of a
// production code path.
//
// # What it emulates
//
// The request pipeline follows Stripe's documented order, because the
// daemon's correctness depends on it: authentication (Bearer or Basic,
// secret and restricted keys; publishable keys only where Stripe.js uses
// them, see below; the Stripe-Account header, see Connect), then the rate
// limiter (429 code rate_limit with Stripe-Rate-Limited-Reason), then
// parameter decoding (bracket notation, indexed and [] arrays; any unknown
// parameter is a 400 parameter_unknown, as Stripe does), then the
// idempotency layer (replay with Idempotent-Replayed: true, 400
// idempotency_error on a parameter or endpoint mismatch, 409
// idempotency_key_in_use while the first request is still running), then
// the resource itself. Nothing is saved under a key for a 401, a 429 or a
// validation 400, so a retry of those is a new request, as in Stripe.
//
// Every response carries a Request-Id: req_… header. Objects are scoped to
// the key's mode (test or live) and to the Stripe-Account header, so Connect
// calls see only their connected account's objects.
//
// Resources live one per file (customers.go, paymentintents.go,
// charges.go, refunds.go, events.go, paymentmethods_api.go,
// setupintents.go, microdeposits.go, checkout_sessions.go,
// billingportal.go, accounts.go); each contributes its endpoints to the
// router and its state to the Server. Lists (list.go) and search
// (search.go) are shared helpers.
//
// # Connect
//
// [Server.AddConnectedAccount] registers a connected (Standard) account
// with its charges_enabled, payouts_enabled and details_submitted; GET
// /v1/accounts/{id} shows it to the platform (and to itself, with
// Stripe-Account), GET /v1/account shows the account a request acts for,
// and any other account id is the 403 Stripe answers when the key has no
// access to it. Once an account is registered, a Stripe-Account header
// naming any other is refused on every request with that 403 (code
// account_invalid), before anything runs or is saved under an
// idempotency key; before the first registration every well-formed acct_
// id counts as an enabled account. With Stripe-Account a request sees and
// makes only that account's objects: customers, payment methods,
// PaymentIntents, charges, refunds (GET /v1/refunds/{id}), SetupIntents,
// Checkout and billing portal sessions, events and search; another
// account's (or the platform's) id is a 404 resource_missing, or a 400
// resource_missing naming the parameter that referred to it. Events of a
// connected account carry its id in account.
//
// # Payments
//
// PaymentIntents follow Stripe's state machine with Stripe's magic test
// PaymentMethods (paymentmethods.go lists them): pm_card_visa,
// pm_card_mastercard, pm_card_amex… succeed; the decline cards
// (pm_card_visa_chargeDeclined, …InsufficientFunds, …LostCard,
// …StolenCard, …VelocityLimitExceeded, pm_card_chargeDeclinedExpiredCard,
// …IncorrectCvc, …ProcessingError, and Radar's
// pm_card_chargeDeclinedFraudulent, blocked before the network) fail, on
// session or off, with a 402 card_error (code, decline_code, charge,
// payment_method) that embeds the PaymentIntent, now
// requires_payment_method with the same error as last_payment_error;
// pm_card_authenticationRequired needs 3D Secure (requires_action on
// session, authentication_required off session, MOTO exempt).
// [Server.DeclineNext] makes any saved card decline its next n charges
// with a given decline code and then pay, for testing retries of soft
// declines (insufficient_funds) against hard ones (lost_card). Every
// attempt makes a charge, the PaymentIntent's latest_charge. The
// 2023-08-16 rule holds: without payment_method_types a PaymentIntent has
// automatic payment methods and confirming needs a return_url.
//
// ACH (pm_usBankAccount_success and the failing test accounts) goes
// processing and settles only when [Server.SettleACH] is called or
// [Options.ACHSettleAfter] has passed; pm_usBankAccount_processing never
// settles and pm_usBankAccount_dispute is disputed once it succeeds. The
// failing accounts (…insufficientFunds, …accountClosed, …noAccount,
// …debitNotAuthorized, …invalidCurrency) fail when they settle:
// charge.failed, payment_intent.payment_failed, the PaymentIntent back in
// requires_payment_method with last_payment_error. [Server.ReturnACH]
// makes the bank return any processing debit, on or off session, with a
// NACHA code (R01, R02, R03, R10, …) and the failure code Stripe's table
// gives it (insufficient_funds, bank_account_closed, debit_not_authorized,
// …); a debit that succeeded is disputed instead ([Server.Dispute]).
// Refunds (POST /v1/refunds) show on the charge. [Server.Dispute],
// [Server.CompleteCheckout] and [Server.Pay] make happen what customers and
// banks do outside any API call.
//
// # Checkout, hosted pages, saved methods
//
// POST /v1/checkout/sessions makes sessions in mode payment (line_items
// with price_data) or setup, with Stripe's checks (expires_at 30 minutes to
// 24 hours ahead, us_bank_account only in USD); GET retrieves and lists
// them (filters payment_intent, customer), POST …/expire expires an open
// one. A session's url is a real page served by the emulator's own HTTP
// server at <base URL>/checkout/pay/{cs_id} (the base is Options.PublicURL
// or the URL Start listens on). It is server-rendered HTML that works
// without JavaScript, so tests drive it with form posts or a headless
// browser; checkout_page.go lists its element ids. Stripe's test cards and
// test bank accounts behave as documented: declines show Stripe's message
// and leave the session open, 3D Secure cards go through an emulated
// challenge page, a bank account linked by instant verification pays at
// once (processing), one entered by hand waits for micro-deposits, verified
// on the page at next_action's hosted_verification_url
// (microdeposit_page.go) or with verify_microdeposits. The PaymentIntent
// (or, in setup mode, SetupIntent) is made when the customer confirms; it
// gets payment_intent_data, not the session's metadata. A completed
// session redirects (303) to success_url with {CHECKOUT_SESSION_ID}
// replaced. [Server.CompleteCheckout] runs the same path from Go, and
// [Server.ExpireCheckoutSessions] expires the sessions whose time has come
// (they also expire by themselves when next read).
//
// SetupIntents (create, retrieve, confirm, cancel, verify_microdeposits)
// save a method on a customer; PaymentMethods can be retrieved, listed
// (GET /v1/payment_methods?customer=, GET /v1/customers/{id}/payment_methods),
// attached and detached, and a customer's
// invoice_settings[default_payment_method] set. POST
// /v1/billing_portal/sessions returns a session whose url is a page listing
// the customer's methods (billingportal.go).
//
// # Card and bank details, Stripe.js
//
// POST /v1/payment_methods makes a card from its number or a US bank
// account from its routing and account numbers (paymentmethods_create.go).
// Only Stripe's test numbers are accepted, and each behaves as the magic
// PaymentMethod of the same number: 4242424242424242 pays,
// 4000000000000002 and 4000000000009995 decline when charged, bank
// account 000123456789 settles and 000111111113 is returned. A bank
// account made this way is unverified, so the first PaymentIntent or
// SetupIntent confirmed with it waits for micro-deposits (requires_action,
// verify_with_microdeposits) whatever the verification_method;
// POST …/verify_microdeposits with 32 and 45 or
// SM11AA verifies it, other values fail with the attempts left in the
// message, and the tenth failure (or 10 and 11, SM33CC) fails the
// PaymentIntent.
//
// Cards are made from a browser: GET /v3/ serves a stand-in for Stripe.js
// (stripejs.js; Stripe(pk).elements().create('card' or 'payment'),
// mount, on('change'), elements.submit, stripe.createPaymentMethod) that
// renders plain, labelled inputs and posts the card to the emulator's own
// POST /v1/payment_methods with [Server.PublishableKey]. That endpoint,
// for cards, is the only one a publishable key opens (others answer
// secret_key_required), and it answers CORS preflights, so a page on
// another origin can call it.
//
// # Events and webhooks
//
// Every change records an event (api_version 2023-10-16, data.object as
// the object was at that moment, previous_attributes on updates, the
// request and idempotency key that caused it, account for Connect), listed
// by GET /v1/events (with Stripe-Account, that account's events only;
// without, the platform's). Endpoints added with
// [Server.AddWebhookEndpoint] get each platform event of their enabled
// types POSTed in the background with a real Stripe-Signature
// ([SignPayload]), retried with backoff until a 2xx; Connect endpoints
// ([Server.AddConnectWebhookEndpoint], Stripe's connect=true) get the
// events of connected accounts instead, account included. [WebhookOptions]
// switch delivery off, duplicate it, shuffle it or bound the attempts, so
// a consumer can be tested against what Stripe does not promise: order and
// exactly-once delivery. [Server.Deliveries], [Server.WaitDelivered] and
// [Server.WaitIdle] let tests see and await deliveries;
// [Server.RedeliverAll] sends everything again.
//
// # Faults
//
// [Server.SetFaults] injects the failures a payments integration must
// survive: a JSON 500 that the idempotency layer saves (a retry with the same
// key gets the same 500, as from Stripe), a response lost after the write was
// applied and saved (the connection is dropped), a 503 that runs nothing,
// and a request held until the client gives up. The fault RNG is seeded by
// [Options.Seed].
//
// # Assertions
//
// [Server.Requests] is the request log and [Server.Stats] its counts;
// [Server.Customers], [Server.PaymentIntents], [Server.Charges],
// [Server.Refunds] and [Server.Events] show the state of every scope, and
// [Server.CreateCustomer] seeds state directly.
//
// Differences from Stripe worth knowing: search is immediately consistent
// (Stripe's index lags by up to a minute), the rate limit is one global
// per-second bucket (Stripe also has per-endpoint and concurrency limits),
// parameters that Stripe knows but the emulator does not implement are
// refused with code emulator_unsupported instead of being ignored, and so
// are expand[] paths other than latest_charge (data.latest_charge on
// lists); on customers expand[] is accepted and ignored. An update's
// address replaces the whole address (whether Stripe merges nested hashes
// other than metadata is unverified; the daemon always sends the whole
// address). Test bank accounts given by magic id count as verified (only
// one entered by hand on the Checkout page or made from account numbers
// goes through micro-deposits), an ACH confirmation needs mandate_data
// unless the method was saved with a mandate, capture_method=manual is not
// emulated, and refunds succeed at once. POST /v1/payment_methods takes
// neither metadata nor a billing address or phone, and refuses
// malformed bank numbers in words of its own (Stripe's are unverified);
// the Stripe.js stand-in has no iframe, and its elements take no options.
// Checkout Sessions without payment_method_types offer cards only,
// create a customer (customer_creation if_required) only when a method is
// saved, and show no saved methods; billing portal sessions never expire
// and the portal page changes nothing. The ACH return messages and the type of an ACH
// last_payment_error (invalid_request_error) are unverified. Webhook
// endpoints receive the events of both modes. A connected account's
// charges_enabled is reported, not enforced (charges on an account whose
// charges are disabled succeed), its requirements are not modelled
// (empty lists; disabled_reason requirements.past_due while charges are
// disabled), no account.* events are emitted, and the Stripe-Account check
// is off until the first account is registered.
package stripetest
