// Package store is the daemon's database: the ledger (account links, sync
// cursors, the run log), the payment ledger (invoices with their rollups,
// payments, receipt numbers), the inboxes that make webhooks and CRM
// triggers durable before they are acknowledged, the durable job queue, and
// the bookkeeping that lets several replicas share one schedule (claimed
// ticks and advisory locks). [DB] implements every database port of the
// root package on top of sqlx: [stripesync.Ledger], [stripesync.Queue],
// [stripesync.PaymentLedger], [stripesync.TriggerInbox],
// [stripesync.CollectionLedger], [stripesync.PaymentLinkLedger] and
// [stripesync.LinkRevocations] (checked at compile time in store.go).
//
// # Payments
//
// [DB.RecordPayment] and [DB.SaveInvoices] change a payment or an invoice,
// recompute the invoice's rollup and enqueue the CRM write-back and receipt
// jobs in one transaction, so a job is never lost and never enqueued for a
// change that did not commit. On Postgres the transactions that touch one
// invoice's rollup take a transaction-scoped advisory lock on its id (and
// the row lock), so two payments of one invoice never compute the rollup
// from each other's stale view, even before the invoice is known.
//
// A payment that succeeds for the first time takes the next receipt number
// from a counter row updated in that same transaction, on both dialects
// (not a Postgres sequence, which a rollback would leave with a gap): the
// numbers are gap-free and follow the order in which payments succeeded.
//
// # Collection
//
// [DB.Reserve] holds part of an invoice's balance for a payment in progress
// before Stripe is called, so that concurrent payers never pay more than
// the balance together: it decides against the stored rollup (balance less
// pending bank debits) and the other holders' unexpired reservations, with the
// invoice row locked FOR UPDATE on Postgres and under SQLite's immediate
// transaction, so calls from several replicas take turns per invoice. A
// reservation stops counting once the ledger records its PaymentIntent as
// Awaiting Verification, Processing or Succeeded (the payment counts
// instead), is released when
// it is recorded as Failed or Canceled, and is forgotten when it expires.
//
// # Inboxes
//
// [DB.AcceptEvent] stores Stripe events with group commit: one committer
// goroutine per DB writes every request waiting at that moment in one
// statement, so a burst of webhooks costs one fsync per batch, without any
// batching delay. [DB.Close] commits what is queued before it closes the
// pool. [DB.AcceptTriggers] stores CRM notifications, de-duplicated by
// notification id and coalesced per record into pending rows that workers
// lease with [DB.ClaimTriggers]. What is done stays as the de-duplication
// memory until [DB.PruneEvents] and [DB.PruneTriggers] forget it (the daily
// prune job); what is not is measured by [DB.InboxBacklog].
//
// # Leases
//
// Jobs, events and triggers are claimed with a lease, which ends the claim if
// the claimer dies. A claim also records its claimer, the process that
// called [DB.Register] (a lock file on SQLite, a session advisory lock on
// Postgres, held for the process's life), so that the daemon starting after
// a crash ends the leases of the claimers it can prove dead at once
// ([DB.ReclaimDead]) rather than waiting for them to run out.
//
// # Dialects
//
// Two databases are supported, chosen by the URL given to [Open]:
//
//   - "sqlite:PATH": the embedded default (modernc.org/sqlite, pure Go, no
//     cgo) for a single process. The file runs in WAL mode with foreign keys
//     on, a busy timeout and BEGIN IMMEDIATE transactions, so a second process
//     (a CLI command next to the daemon) queues behind a writer instead of
//     failing with SQLITE_BUSY. The pool holds one connection: SQLite has one
//     writer anyway, and one connection makes every call safe to use from many
//     goroutines.
//   - "postgres://…" or "postgresql://…" (github.com/lib/pq): for several
//     replicas. Jobs, events and triggers are claimed with FOR UPDATE SKIP
//     LOCKED and [DB.TryLock] is a session advisory lock, so replicas can
//     share one queue and one schedule. Connections use lib/pq's binary
//     parameters, which makes a query with arguments one round trip
//     instead of two.
//
// Queries are written once, with "?" placeholders rebound per driver; what
// differs between the dialects (connection setup, lock clauses, how a
// timestamp is stored) lives in dialect.go, and the schema lives in one
// embedded migration directory per dialect, applied by goose ([DB.Migrate]).
//
// # Time
//
// Every timestamp is stored in UTC with microsecond precision, the precision
// of a Postgres timestamptz: values are truncated to the microsecond before
// they are written, so what is read back is identical on both dialects.
// SQLite stores them as INTEGER unix microseconds (sortable, exact, and
// compared with plain integer operators); Postgres as timestamptz. A zero
// time.Time is stored as NULL and read back as zero.
//
// # Errors
//
// Every error returned is a *[stripesync.Error]: EINVALID for bad input or a
// bad URL, ENOTFOUND for a missing row, ECONFLICT for a constraint violation,
// EUNAVAILABLE for a busy or unreachable database (retryable), EUNAUTHORIZED
// for rejected credentials and EINTERNAL for the rest. Messages never carry
// the password of a database URL.
package store
