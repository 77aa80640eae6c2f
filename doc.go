// Package stripesync holds the domain of the stripesync daemon, which keeps
// a CRM (Salesforce) and Stripe in two-way sync and collects invoice
// payments through Stripe. It has no dependencies beyond the standard
// library: plain value types, the domain error, the rules that are pure
// functions of them, and the interfaces (ports) that more than one package
// meets at.
//
// # Values
//
//   - Money (money.go): an integer amount of the currency's minor unit and
//     an ISO code, parsed from and printed as decimal strings, never a float.
//   - Accounts out: Account and Customer (account.go), AccountLink with its
//     LinkState (link.go), SyncRun (syncrun.go).
//   - Payments back: Invoice, Payment with its PaymentStatus ranking,
//     PaymentRecord and PaymentSnapshot (invoice.go, payment.go), and
//     RollUp, the one place an invoice's paid amount, balance and status are
//     computed from its payments (rollup.go).
//   - Receipts and mail: Receipt, Business, LinkNotice, ReceiptMail
//     (receipt.go).
//   - Collection: Reservation, SavedMethod, CheckoutRequest, ChargeRequest,
//     IssuedLink (collect.go); BankAccountDetails and
//     MicrodepositVerification, what staff type in for a bank account taken
//     over the phone (bank.go).
//   - Work in flight: Event (Stripe webhooks), Trigger and OutboundMessage
//     (CRM notifications), Job and its kinds (the durable queue), Backlog.
//
// # Ports
//
// CRM and Billing are what the engine needs of Salesforce and of Stripe
// (implemented by crm and stripeclient); Ledger, PaymentLedger, Queue,
// TriggerInbox, CollectionLedger, PaymentLinkLedger and LinkRevocations
// are what it needs of the database (all implemented by store); Collector
// is what the pages need of the engine (implemented by sync).
//
// # Errors and retries
//
// Every package returns *Error with an ErrorCode (error.go): the code tells
// an HTTP handler which status to answer and tells every worker, through
// Retryable, whether a failure is worth another attempt. That
// is the one retry rule of the module.
//
// # Dependency direction
//
// Adapters (crm, stripeclient, store, receipts, httpapi, web) import this
// package and never each other; the engine (sync) talks to them only
// through the ports above (ports.go and collect.go); cmd/stripesync wires everything. A test in
// imports_test.go keeps it so, and keeps the emulators (crmtest,
// stripetest, smtptest) out of everything but tests, demo and emulate.
//
// # Invariants the whole module keeps
//
//   - money is an integer amount of the currency's minor unit plus an ISO code;
//   - every Stripe write carries a deterministic idempotency key derived from
//     our own ids and recorded before the call;
//   - every ingest (event, trigger, invoice, payment) is idempotent by the
//     object's id, and nothing acknowledged is lost: it is stored before
//     the 2xx;
//   - one CRM account maps to at most one Stripe customer;
//   - bad input gets a clear error and writes nothing;
//   - secrets never reach logs or error bodies.
package stripesync
