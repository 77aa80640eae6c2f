// Package stripetest is a stateful Stripe emulator served over real HTTP, for
// the adapter's tests, the engine's tests, the end-to-end test and the
// `stripesync emulate` / `stripesync demo` commands. It is never part of a
// production code path.
//
// # What it emulates
//
// The request pipeline follows Stripe's documented order, because the
// daemon's correctness depends on it: authentication (Bearer or Basic,
// secret and restricted keys; publishable keys refused), then the rate
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
// Resources live one per file (customers.go today); each contributes its
// endpoints to the router and its state to the Server. Lists (list.go) and
// search (search.go) are shared helpers.
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
// [Server.Customers] shows every customer, deleted ones included, and
// [Server.CreateCustomer] seeds state directly.
//
// Differences from Stripe worth knowing: search is immediately consistent
// (Stripe's index lags by up to a minute), the rate limit is one global
// per-second bucket (Stripe also has per-endpoint and concurrency limits),
// parameters that Stripe knows but the emulator does not implement are
// refused with code emulator_unsupported instead of being ignored, expand[]
// is accepted and ignored, and an update's address replaces the whole
// address (whether Stripe merges nested hashes other than metadata is
// unverified; the daemon always sends the whole address).
package stripetest
