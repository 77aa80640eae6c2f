// Package stripesync holds the domain of the stripesync daemon: the plain
// value types that travel between the CRM (Salesforce), Stripe and the ledger
// (Money, Account, Customer, AccountLink, SyncRun, Job), the domain error type,
// and the interfaces that more than one package uses (CRM, Billing, Ledger).
//
// Dependency direction: adapters (crm, stripeclient, store, httpapi) import
// this package and never each other; the engine (sync) talks to the adapters
// only through the interfaces declared here; cmd/stripesync wires everything.
//
// Invariants the whole module keeps:
//   - money is an integer amount of the currency's minor unit plus an ISO code;
//   - every Stripe write carries a deterministic idempotency key derived from
//     our own ids and recorded before the call;
//   - one CRM account maps to at most one Stripe customer;
//   - secrets never reach logs or error bodies.
package stripesync
