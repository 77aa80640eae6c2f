// Package sync is the engine of stripesync: it decides, for every CRM record
// that changed, what must happen in Stripe, the ledger and the CRM, and makes
// it happen through the stripesync.CRM, stripesync.Billing and
// stripesync.Ledger ports. It knows nothing about HTTP, SQL or Salesforce
// wire formats.
//
// The account push (Engine.PushAccounts) streams accounts changed since the
// "accounts" cursor, pushes each one to Stripe according to its mapping
// policy, records the outcome in the ledger and writes the customer id (or
// the error) back to the CRM. Its guarantees:
//
//   - an account whose pushed fields did not change costs no Stripe call;
//   - a customer create is recorded as pending, with its idempotency key,
//     before Stripe is called, and a pending create is resolved by looking
//     for the customer by metadata before creating again, so a crash at any
//     point never yields a second customer;
//   - one bad account never blocks the others, and the cursor never moves
//     past an account that was not handled;
//   - deleted accounts are unbound in the ledger, never deleted in Stripe.
//
// Callers that also need the standard library's sync package import this one
// as syncer.
package sync
