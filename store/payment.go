package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

const paymentColumns = "id, invoice_id, account_id, customer_id, amount, currency, refunded, status, method," +
	" method_detail, channel, failure_reason, disputed, created, paid_at, charge_id, charge_created, receipt_number, updated_at"

type paymentRow struct {
	ID            string         `db:"id"`
	InvoiceID     string         `db:"invoice_id"`
	AccountID     string         `db:"account_id"`
	CustomerID    string         `db:"customer_id"`
	Amount        int64          `db:"amount"`
	Currency      string         `db:"currency"`
	Refunded      int64          `db:"refunded"`
	Status        string         `db:"status"`
	Method        string         `db:"method"`
	MethodDetail  string         `db:"method_detail"`
	Channel       string         `db:"channel"`
	FailureReason string         `db:"failure_reason"`
	Disputed      bool           `db:"disputed"`
	Created       dbTime         `db:"created"`
	PaidAt        dbTime         `db:"paid_at"`
	ChargeID      string         `db:"charge_id"`
	ChargeCreated dbTime         `db:"charge_created"`
	ReceiptNumber sql.NullString `db:"receipt_number"`
	UpdatedAt     dbTime         `db:"updated_at"`
}

func (r paymentRow) payment() stripesync.Payment {
	return stripesync.Payment{
		ID:            r.ID,
		InvoiceID:     r.InvoiceID,
		AccountID:     r.AccountID,
		CustomerID:    r.CustomerID,
		Amount:        stripesync.Money{Amount: r.Amount, Currency: r.Currency},
		Refunded:      r.Refunded,
		Status:        stripesync.PaymentStatus(r.Status),
		Method:        r.Method,
		MethodDetail:  r.MethodDetail,
		Channel:       r.Channel,
		FailureReason: r.FailureReason,
		Disputed:      r.Disputed,
		Created:       time.Time(r.Created),
		PaidAt:        time.Time(r.PaidAt),
		ChargeID:      r.ChargeID,
		ChargeCreated: time.Time(r.ChargeCreated),
		ReceiptNumber: r.ReceiptNumber.String,
	}
}

// receiptNumber formats the n-th receipt number: "R-000001", "R-000002", …
// (more digits once a million is passed).
func receiptNumber(n int64) string { return fmt.Sprintf("R-%06d", n) }

// normalizePayment validates p as RecordPayment stores it: a known status,
// a currency in upper case, amounts that are not negative, a creation
// time, and times in UTC truncated to the microsecond (so that comparing
// p with what was stored compares like with like).
func normalizePayment(p stripesync.Payment) (stripesync.Payment, error) {
	if p.ID == "" {
		return p, stripesync.Errorf(stripesync.EINVALID, "store: payment has no id")
	}
	cur, err := stripesync.NormalizeCurrency(p.Amount.Currency)
	if err != nil {
		return p, stripesync.WrapError(stripesync.EINVALID, err, "store: payment %s", p.ID)
	}
	p.Amount.Currency = cur
	switch p.Status {
	case stripesync.PaymentPending, stripesync.PaymentAwaitingVerification, stripesync.PaymentProcessing, stripesync.PaymentSucceeded,
		stripesync.PaymentFailed, stripesync.PaymentCanceled:
	default:
		return p, stripesync.Errorf(stripesync.EINVALID, "store: payment %s has unknown status %q", p.ID, p.Status)
	}
	switch {
	case p.Amount.Amount < 0 || p.Refunded < 0:
		return p, stripesync.Errorf(stripesync.EINVALID, "store: payment %s has a negative amount or refund", p.ID)
	case p.Created.IsZero():
		return p, stripesync.Errorf(stripesync.EINVALID, "store: payment %s has no created time", p.ID)
	}
	p.Created, p.PaidAt, p.ChargeCreated = utc(p.Created), utc(p.PaidAt), utc(p.ChargeCreated)
	return p, nil
}

// samePayment reports whether a and b hold the same state; times are
// compared as instants.
func samePayment(a, b stripesync.Payment) bool {
	if !a.Created.Equal(b.Created) || !a.PaidAt.Equal(b.PaidAt) || !a.ChargeCreated.Equal(b.ChargeCreated) {
		return false
	}
	a.Created, a.PaidAt, a.ChargeCreated = b.Created, b.PaidAt, b.ChargeCreated
	return a == b
}

// RecordPayment stores p, the state of one PaymentIntent, if it supersedes
// the stored state (stripesync.Payment.Supersedes), and returns what is
// stored and whether it changed. A stale state, or one identical to the
// stored state, changes nothing and enqueues nothing.
//
// The stored ReceiptNumber is kept (p's is ignored: the ledger assigns
// them), and an empty InvoiceID or AccountID in p keeps the stored one. In
// the same transaction as the change: the rollup of the payment's invoice
// (and of its former invoice, if it moved) is recomputed when the ledger
// knows it; a JobCRMPayment is enqueued, and a JobCRMInvoice for each of
// those invoices that is not deleted; and a payment that succeeded for the
// first time gets the next receipt number and a JobSendReceipt keyed by its
// id, so that the receipt is sent once; a payment whose refunded amount
// grew gets a JobSendRefundNotice keyed by its id and the new refunded
// total, so each refund is announced once; and a payment that failed or was
// canceled releases the reservations bound to it ([DB.Reserve]), which no
// longer hold anything. (A reservation bound to a payment awaiting
// verification, processing or succeeded stays until it is released or expires, but Reserve no longer
// counts it: the payment itself does.)
//
// On Postgres, recordings of one payment, and the transactions that change
// one invoice's rollup, run one at a time (transaction-scoped advisory
// locks plus the invoice row locked FOR UPDATE), so that none computes a
// rollup from a view another is about to change.
//
// A payment without an ID or Created time, with an unknown Status, a bad
// currency or a negative amount is EINVALID.
func (db *DB) RecordPayment(ctx context.Context, p stripesync.Payment) (stored stripesync.Payment, changed bool, err error) {
	recs, err := db.RecordPayments(ctx, []stripesync.Payment{p})
	if err != nil {
		return stripesync.Payment{}, false, err
	}
	return recs[0].Stored, recs[0].Changed, nil
}

// RecordPayments is RecordPayment for several PaymentIntents in one
// transaction, so that a burst of webhooks costs one commit per batch
// rather than one per payment, and a few statements per batch rather than
// a dozen per payment: the stored states are read together, the receipt
// numbers drawn together, the jobs enqueued together and each invoice
// rolled up once. The result is index-aligned with ps. It is all or
// nothing: if one payment is invalid (EINVALID, naming it) or the
// transaction fails, nothing is recorded, and the caller can record the
// others one by one.
//
// On Postgres it takes the advisory locks of every payment, then of every
// invoice involved, each set in key order, as RecordPayment does for one,
// so that concurrent batches never wait on each other in a cycle.
func (db *DB) RecordPayments(ctx context.Context, ps []stripesync.Payment) ([]stripesync.PaymentRecord, error) {
	ps, err := normalizePayments(ps)
	if err != nil {
		return nil, err
	}
	var recs []stripesync.PaymentRecord
	err = db.transact(ctx, func(tx *sqlx.Tx) (err error) {
		recs, err = db.recordPayments(ctx, tx, ps)
		return err
	})
	if err != nil {
		return nil, recordError(err, ps)
	}
	return recs, nil
}

// normalizePayments returns a copy of ps, each normalized
// (normalizePayment), or the first one's error.
func normalizePayments(ps []stripesync.Payment) ([]stripesync.Payment, error) {
	ps = slices.Clone(ps)
	for i := range ps {
		var err error
		if ps[i], err = normalizePayment(ps[i]); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// recordError names what failed to be recorded.
func recordError(err error, ps []stripesync.Payment) error {
	if len(ps) == 1 {
		return wrap(err, "record payment %s", ps[0].ID)
	}
	return wrap(err, "record %d payments", len(ps))
}

// recordPayments is RecordPayments inside tx, for normalized ps: the
// locks, the states, the receipt numbers, the rollups and the jobs.
func (db *DB) recordPayments(ctx context.Context, tx *sqlx.Tx, ps []stripesync.Payment) ([]stripesync.PaymentRecord, error) {
	locks := make([]string, len(ps))
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
		locks[i] = "payment:" + p.ID
	}
	now := db.now()
	if err := db.lockNames(ctx, tx, locks...); err != nil {
		return nil, err
	}
	stored, err := db.paymentsByID(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var invoiceLocks []string
	for _, p := range ps {
		for _, id := range []string{stored[p.ID].InvoiceID, p.InvoiceID} {
			if id != "" {
				invoiceLocks = append(invoiceLocks, invoiceLock(id))
			}
		}
	}
	if err := db.lockNames(ctx, tx, invoiceLocks...); err != nil {
		return nil, err
	}
	// Decide each payment against the state before it, in order, so
	// that a payment twice in ps ends as two calls would leave it.
	recs := make([]stripesync.PaymentRecord, len(ps))
	final := map[string]*paymentOutcome{}
	var order, rollups []string
	for i, p := range ps {
		cur := stored[p.ID]
		if o := final[p.ID]; o != nil {
			cur = o.next
		}
		next, ok := nextPayment(p, cur)
		if !ok {
			recs[i] = stripesync.PaymentRecord{Stored: cur}
			continue
		}
		o := final[p.ID]
		if o == nil {
			o = &paymentOutcome{}
			final[p.ID] = o
			order = append(order, p.ID)
		}
		o.next = next
		o.firstSuccess = o.firstSuccess || (next.Status == stripesync.PaymentSucceeded &&
			cur.Status != stripesync.PaymentSucceeded && next.ReceiptNumber == "")
		recs[i] = stripesync.PaymentRecord{Stored: next, Changed: true}
		for _, id := range []string{stored[p.ID].InvoiceID, next.InvoiceID} {
			if id != "" && !slices.Contains(rollups, id) {
				rollups = append(rollups, id)
			}
		}
	}
	if len(order) == 0 {
		return recs, nil
	}
	receipts := 0
	for _, o := range final {
		if o.firstSuccess {
			receipts++
		}
	}
	var numbers []int64
	if receipts > 0 {
		if numbers, err = db.nextNumbers(ctx, tx, counterReceipts, receipts); err != nil {
			return nil, err
		}
	}
	var jobs []stripesync.Job
	nexts := make([]stripesync.Payment, len(order))
	for k, id := range order {
		o := final[id]
		jobs = append(jobs, refJob(stripesync.JobCRMPayment, id, ""))
		if o.firstSuccess {
			o.next.ReceiptNumber = receiptNumber(numbers[0])
			numbers = numbers[1:]
			jobs = append(jobs, refJob(stripesync.JobSendReceipt, id, id))
		}
		if o.next.Refunded > stored[id].Refunded {
			key := id + ":refunded:" + strconv.FormatInt(o.next.Refunded, 10)
			jobs = append(jobs, refJob(stripesync.JobSendRefundNotice, id, key))
		}
		nexts[k] = o.next
	}
	if err := db.upsertPayments(ctx, tx, nexts, now); err != nil {
		return nil, err
	}
	for i := range recs {
		r := &recs[i].Stored
		if recs[i].Changed && r.Status == stripesync.PaymentSucceeded && r.ReceiptNumber == "" {
			r.ReceiptNumber = final[r.ID].next.ReceiptNumber
		}
	}
	slices.Sort(rollups) // lock the invoice rows in one order everywhere
	var numbered []stripesync.Payment
	for _, o := range final {
		if o.firstSuccess {
			numbered = append(numbered, o.next)
		}
	}
	live, err := db.rollUpInvoices(ctx, tx, rollups, numbered, now)
	if err != nil {
		return nil, err
	}
	if err := db.releaseFailedReservations(ctx, tx, nexts); err != nil {
		return nil, err
	}
	failed, err := db.recordPaymentFailures(ctx, tx, stored, nexts, rollups, now)
	if err != nil {
		return nil, err
	}
	jobs = append(jobs, failed...)
	for _, id := range live {
		jobs = append(jobs, refJob(stripesync.JobCRMInvoice, id, ""))
	}
	if err := db.enqueueAll(ctx, tx, jobs); err != nil {
		return nil, err
	}
	return recs, nil
}

// paymentOutcome is where one PaymentIntent of a RecordPayments batch
// ends: its last new state, and whether it succeeded for the first time.
type paymentOutcome struct {
	next         stripesync.Payment
	firstSuccess bool
}

// nextPayment is what storing p over old (the zero Payment when there is
// none) leaves, and false when it would change nothing: p is stale, or
// the same state. The stored receipt number is kept, and an empty
// InvoiceID or AccountID in p keeps the stored one.
func nextPayment(p, old stripesync.Payment) (stripesync.Payment, bool) {
	found := old.ID != ""
	if found && !p.Supersedes(old) {
		return old, false
	}
	next := p
	next.ReceiptNumber = old.ReceiptNumber
	if next.InvoiceID == "" {
		next.InvoiceID = old.InvoiceID
	}
	if next.AccountID == "" {
		next.AccountID = old.AccountID
	}
	if found && samePayment(next, old) {
		return old, false
	}
	return next, true
}

// PaymentsByID returns the stored payments among ids, by id; ids the
// ledger does not know are absent from the map. It costs one query per
// idBatch ids, however many there are.
func (db *DB) PaymentsByID(ctx context.Context, ids []string) (map[string]stripesync.Payment, error) {
	out, err := db.paymentsByID(ctx, db.x, ids)
	return out, wrap(err, "read %d payments", len(ids))
}

// paymentsByID reads the stored payments among ids, by id, through q (the
// database, or a transaction).
func (db *DB) paymentsByID(ctx context.Context, q sqlx.QueryerContext, ids []string) (map[string]stripesync.Payment, error) {
	out := make(map[string]stripesync.Payment, len(ids))
	for start := 0; start < len(ids); start += idBatch {
		query, args, err := sqlx.In("SELECT "+paymentColumns+" FROM payments WHERE id IN (?)", ids[start:min(start+idBatch, len(ids))])
		if err != nil {
			return nil, err
		}
		var rows []paymentRow
		if err := sqlx.SelectContext(ctx, q, &rows, db.x.Rebind(query), args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.ID] = r.payment()
		}
	}
	return out, nil
}

// rollUpInvoices recomputes the rollups of the invoices among ids that the
// ledger knows, reading them (locked, in id order) and their payments in
// one statement each, and returns those not deleted: their CRM record
// needs the new rollup.
func (db *DB) rollUpInvoices(ctx context.Context, tx *sqlx.Tx, ids []string, numbered []stripesync.Payment, now time.Time) ([]string, error) {
	var live []string
	for start := 0; start < len(ids); start += idBatch {
		chunk := ids[start:min(start+idBatch, len(ids))]
		q, args, err := sqlx.In("SELECT "+invoiceColumns+" FROM invoices WHERE id IN (?) ORDER BY id"+db.forUpdate(), chunk)
		if err != nil {
			return nil, err
		}
		var rows []invoiceRow
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, err
		}
		payments, err := db.paymentsOfInvoices(ctx, tx, chunk)
		if err != nil {
			return nil, err
		}
		rollups := make(map[string]stripesync.Rollup, len(rows))
		for _, r := range rows {
			inv := r.invoice()
			rollups[inv.ID] = stripesync.RollUp(inv, payments[inv.ID])
			if !inv.Deleted {
				live = append(live, inv.ID)
			}
		}
		if err := db.updateRollups(ctx, tx, rollups, now); err != nil {
			return nil, err
		}
		invoices := make(map[string]stripesync.Invoice, len(rows))
		for _, r := range rows {
			invoices[r.ID] = r.invoice()
		}
		if err := db.recordReceiptBalances(ctx, tx, invoices, payments, numbered, now); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// recordReceiptBalances stores, for each payment of numbered (those whose
// receipts this transaction numbered) that belongs to one of invoices, the
// balance left right after it ([stripesync.BalanceAfter]): the balance its
// receipt shows for good.
func (db *DB) recordReceiptBalances(ctx context.Context, tx *sqlx.Tx, invoices map[string]stripesync.Invoice,
	payments map[string][]stripesync.Payment, numbered []stripesync.Payment, now time.Time) error {
	const q = "INSERT INTO receipt_balances (payment_id, amount, currency, created) VALUES (?, ?, ?, ?) ON CONFLICT (payment_id) DO NOTHING"
	for _, p := range numbered {
		inv, ok := invoices[p.InvoiceID]
		if !ok {
			continue
		}
		b := stripesync.BalanceAfter(inv, payments[inv.ID], p)
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), p.ID, b.Amount, b.Currency, db.ts(now)); err != nil {
			return err
		}
	}
	return nil
}

// ReceiptBalance returns the balance recorded for a payment's receipt when
// the receipt was numbered; ok is false for a receipt numbered before the
// ledger recorded balances, or a payment of no invoice the ledger knew.
func (db *DB) ReceiptBalance(ctx context.Context, paymentID string) (stripesync.Money, bool, error) {
	var row struct {
		Amount   int64  `db:"amount"`
		Currency string `db:"currency"`
	}
	err := db.x.GetContext(ctx, &row, db.x.Rebind("SELECT amount, currency FROM receipt_balances WHERE payment_id = ?"), paymentID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return stripesync.Money{}, false, nil
	case err != nil:
		return stripesync.Money{}, false, wrap(err, "receipt balance of %s", paymentID)
	}
	return stripesync.Money{Amount: row.Amount, Currency: row.Currency}, true, nil
}

// paymentsOfInvoices reads the payments of the given invoices, each
// invoice's oldest first.
func (db *DB) paymentsOfInvoices(ctx context.Context, q sqlx.QueryerContext, invoiceIDs []string) (map[string][]stripesync.Payment, error) {
	byInvoice := make(map[string][]stripesync.Payment, len(invoiceIDs))
	for start := 0; start < len(invoiceIDs); start += idBatch {
		query, args, err := sqlx.In("SELECT "+paymentColumns+" FROM payments WHERE invoice_id IN (?) ORDER BY invoice_id, created, id",
			invoiceIDs[start:min(start+idBatch, len(invoiceIDs))])
		if err != nil {
			return nil, err
		}
		var rows []paymentRow
		if err := sqlx.SelectContext(ctx, q, &rows, db.x.Rebind(query), args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			byInvoice[r.InvoiceID] = append(byInvoice[r.InvoiceID], r.payment())
		}
	}
	return byInvoice, nil
}

// updateRollups stores rollups by invoice id: on Postgres in one UPDATE …
// FROM (VALUES …), where each row would otherwise cost a round trip; on
// SQLite, which has none, one statement per invoice.
func (db *DB) updateRollups(ctx context.Context, tx *sqlx.Tx, rollups map[string]stripesync.Rollup, now time.Time) error {
	if db.dialect != DialectPostgres {
		for id, r := range rollups {
			if err := db.updateRollup(ctx, tx, id, r, now); err != nil {
				return err
			}
		}
		return nil
	}
	if len(rollups) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("UPDATE invoices AS i SET paid = v.paid, pending = v.pending, balance = v.balance, credit = v.credit," +
		" status = v.status, mismatched = v.mismatched, updated_at = v.updated_at FROM (VALUES ")
	args := make([]any, 0, 8*len(rollups))
	for id, r := range rollups {
		if len(args) > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d::text, $%d::bigint, $%d::bigint, $%d::bigint, $%d::bigint, $%d::text, $%d::integer, $%d::timestamptz)",
			n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8)
		args = append(args, id, r.Paid.Amount, r.Pending.Amount, r.Balance.Amount, r.Credit.Amount, string(r.Status),
			len(r.Mismatched), db.ts(now))
	}
	q.WriteString(") AS v (id, paid, pending, balance, credit, status, mismatched, updated_at) WHERE i.id = v.id")
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

// paymentsPerUpsert bounds one multi-row upsert of payments: 40 rows of 19
// parameters stay below both dialects' limits on bound parameters.
const paymentsPerUpsert = 40

// upsertPayments writes ps (distinct ids) as they are, one statement per
// paymentsPerUpsert.
func (db *DB) upsertPayments(ctx context.Context, tx *sqlx.Tx, ps []stripesync.Payment, now time.Time) error {
	const update = " ON CONFLICT (id) DO UPDATE SET invoice_id = excluded.invoice_id, account_id = excluded.account_id," +
		" customer_id = excluded.customer_id, amount = excluded.amount, currency = excluded.currency," +
		" refunded = excluded.refunded, status = excluded.status, method = excluded.method," +
		" method_detail = excluded.method_detail, channel = excluded.channel, failure_reason = excluded.failure_reason," +
		" disputed = excluded.disputed, created = excluded.created, paid_at = excluded.paid_at," +
		" charge_id = excluded.charge_id, charge_created = excluded.charge_created," +
		" receipt_number = excluded.receipt_number, updated_at = excluded.updated_at"
	for start := 0; start < len(ps); start += paymentsPerUpsert {
		chunk := ps[start:min(start+paymentsPerUpsert, len(ps))]
		q := "INSERT INTO payments (" + paymentColumns + ") VALUES " + valuesRows(len(chunk), 19) + update
		args := make([]any, 0, 19*len(chunk))
		for _, p := range chunk {
			receipt := sql.NullString{String: p.ReceiptNumber, Valid: p.ReceiptNumber != ""}
			args = append(args, p.ID, p.InvoiceID, p.AccountID, p.CustomerID, p.Amount.Amount, p.Amount.Currency, p.Refunded,
				string(p.Status), p.Method, p.MethodDetail, p.Channel, p.FailureReason, p.Disputed, db.ts(p.Created),
				db.ts(p.PaidAt), p.ChargeID, db.ts(p.ChargeCreated), receipt, db.ts(now))
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}

// Payment returns one payment (ENOTFOUND if unknown).
func (db *DB) Payment(ctx context.Context, id string) (stripesync.Payment, error) {
	return db.paymentWhere(ctx, "id", id)
}

// PaymentByReceiptNumber returns the payment whose receipt carries number
// (ENOTFOUND if none does).
func (db *DB) PaymentByReceiptNumber(ctx context.Context, number string) (stripesync.Payment, error) {
	return db.paymentWhere(ctx, "receipt_number", number)
}

func (db *DB) paymentWhere(ctx context.Context, column, value string) (stripesync.Payment, error) {
	var row paymentRow
	err := db.x.GetContext(ctx, &row, db.x.Rebind("SELECT "+paymentColumns+" FROM payments WHERE "+column+" = ?"), value)
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.ENOTFOUND, "store: no payment has %s %q", column, value)
	}
	if err != nil {
		return stripesync.Payment{}, wrap(err, "read payment by %s %q", column, value)
	}
	return row.payment(), nil
}

// Payments returns the payments of invoice invoiceID, oldest (Created, then
// ID) first; none for an invoice without payments or unknown to the
// ledger. An empty invoiceID is EINVALID.
func (db *DB) Payments(ctx context.Context, invoiceID string) ([]stripesync.Payment, error) {
	if invoiceID == "" {
		return nil, stripesync.Errorf(stripesync.EINVALID, "store: list payments: no invoice id")
	}
	byInvoice, err := db.paymentsOfInvoices(ctx, db.x, []string{invoiceID})
	if err != nil {
		return nil, wrap(err, "list payments of invoice %s", invoiceID)
	}
	return byInvoice[invoiceID], nil
}

// UnmatchedPayments returns up to limit payments, oldest first, whose
// invoice the ledger does not know: their InvoiceID names an invoice not
// saved yet, or is empty (a payment made outside the daemon). A limit of
// zero or less means 100.
func (db *DB) UnmatchedPayments(ctx context.Context, limit int) ([]stripesync.Payment, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	const q = "SELECT " + paymentColumns + " FROM payments p WHERE NOT EXISTS" +
		" (SELECT 1 FROM invoices i WHERE i.id = p.invoice_id) ORDER BY created, id LIMIT ?"
	var rows []paymentRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), limit); err != nil {
		return nil, wrap(err, "list unmatched payments")
	}
	payments := make([]stripesync.Payment, len(rows))
	for i, r := range rows {
		payments[i] = r.payment()
	}
	return payments, nil
}
