// Package sync is the engine of stripesync: it decides what must happen in
// Stripe, the ledger and the CRM, and makes it happen through the ports of
// the root package (stripesync.CRM, Billing, Ledger, PaymentLedger, Queue,
// TriggerInbox, Collector). It knows nothing about HTTP, SQL or Salesforce
// wire formats. Callers that also need the standard library's sync package
// import this one as syncer.
//
// A newcomer reads it in the order work flows through it.
//
// Accounts out (push.go, account.go). Engine.PushAccounts streams the
// accounts changed since the "accounts" cursor, pushes each to Stripe by
// its mapping policy, records the outcome in the ledger and writes the
// customer id (or the error) back to the CRM:
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
// Triggers (triggers.go). Outbound Messages and Apex callouts land in the
// trigger inbox (httpapi accepts them); Engine.ProcessTriggers re-reads
// each named record and pushes it at once, coalescing a burst per record.
// The hourly push remains the safety net.
//
// Invoices in (pull.go). Engine.PullInvoices copies the CRM's invoices into
// the ledger, which recomputes their rollups, and issues payment links for
// those with a balance due (paylinks.go).
//
// Payments back (ingest.go, snapshot.go, reads.go). Webhooks are verified
// and stored in the event inbox before they are acknowledged (httpapi);
// the event worker (Engine.ProcessEvents) claims them in batches and
// applies each PaymentIntent's events from their own object snapshots,
// reading Stripe only when the snapshots do not say enough: those reads run
// in a lane of their own, paced, behind a breaker. The payment pull
// (Engine.PullPayments) lists what Stripe holds and recovers anything a
// webhook missed. Either way a payment goes through RecordPayment, whose
// state precedence makes duplicates, reordering and stale snapshots
// harmless, and which enqueues the CRM write-back and the receipt in the
// same transaction.
//
// Write-back and receipts (writeback.go, receipt.go). Engine.WriteBack sends
// Payment__c and Invoice__c changes to the CRM in Collections batches;
// Engine.SendReceipts renders and mails each receipt once. Both drain the
// durable queue and retry with backoff (stripesync.Retryable decides what
// is worth retrying).
//
// Collection (collect.go, collect_events.go, portal.go). The Collection
// type backs the pay page and the customer portal: it reserves amounts so
// that two payers never overpay an invoice, charges saved methods or opens
// Checkout, and keeps the saved-methods cache current from events.
//
// Engine.RunWorkers runs the event worker, the read lane, the write-back,
// the receipt mailer, the trigger processor and the link mailer, each
// woken by the stage before it (workers.go), so that a payment reaches the
// CRM in milliseconds rather than a polling interval.
package sync
