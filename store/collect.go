package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// This file is the ledger's side of collection ([stripesync.CollectionLedger]):
// the reservations that keep concurrent payers from paying more than an
// invoice's balance, what a payer sees of an invoice, link revocations and
// the copy of the customers' saved methods.

const reservationColumns = "key, invoice_id, amount, currency, holder, session_id, payment_intent_id, expires_at, created"

type reservationRow struct {
	Key             string `db:"key"`
	InvoiceID       string `db:"invoice_id"`
	Amount          int64  `db:"amount"`
	Currency        string `db:"currency"`
	Holder          string `db:"holder"`
	SessionID       string `db:"session_id"`
	PaymentIntentID string `db:"payment_intent_id"`
	ExpiresAt       dbTime `db:"expires_at"`
	Created         dbTime `db:"created"`
}

func (r reservationRow) reservation() stripesync.Reservation {
	return stripesync.Reservation{
		Key:             r.Key,
		InvoiceID:       r.InvoiceID,
		Amount:          stripesync.Money{Amount: r.Amount, Currency: r.Currency},
		Holder:          r.Holder,
		SessionID:       r.SessionID,
		PaymentIntentID: r.PaymentIntentID,
		ExpiresAt:       time.Time(r.ExpiresAt),
	}
}

// normalizeReservation validates r as Reserve stores it: a key, an
// invoice, a holder, a positive amount in a valid currency (upper case)
// and an expiry after now.
func normalizeReservation(r stripesync.Reservation, now time.Time) (stripesync.Reservation, error) {
	switch {
	case r.Key == "":
		return r, stripesync.Errorf(stripesync.EINVALID, "store: reservation has no key")
	case r.InvoiceID == "":
		return r, stripesync.Errorf(stripesync.EINVALID, "store: reservation %s has no invoice", r.Key)
	case r.Holder == "":
		return r, stripesync.Errorf(stripesync.EINVALID, "store: reservation %s has no holder", r.Key)
	case r.Amount.Amount <= 0:
		return r, stripesync.Errorf(stripesync.EINVALID, "The amount must be greater than zero")
	case !r.ExpiresAt.After(now):
		return r, stripesync.Errorf(stripesync.EINVALID, "store: reservation %s expires at %v, not after now (%v)",
			r.Key, r.ExpiresAt, now)
	}
	cur, err := stripesync.NormalizeCurrency(r.Amount.Currency)
	if err != nil {
		return r, err
	}
	r.Amount.Currency = cur
	r.ExpiresAt = utc(r.ExpiresAt)
	return r, nil
}

// Reserve stores r if r.Amount fits in what its invoice has left to pay
// ([stripesync.CollectionLedger]), and returns the earlier reservations of
// r.Holder for the invoice that it replaced (deleted), oldest first, so
// that the caller can expire their Checkout Sessions.
//
// What is left is the invoice's balance less its pending (processing ACH)
// payments less the unexpired reservations of other holders. A reservation
// bound to a PaymentIntent that the ledger records for the invoice as
// Awaiting Verification, Processing or Succeeded is not counted: that
// payment is already in the pending amount or has already reduced the
// balance. One bound to a Failed
// or Canceled PaymentIntent is released by RecordPayments. Reservations in
// another currency than the invoice's are not counted, as the rollup does
// not count payments in another currency. Expired reservations count for
// nothing and are deleted by the next Reserve of their invoice that
// stores one; the caller must therefore not let a reservation expire
// before the Checkout Session or charge it covers can no longer be paid.
//
// A repeat of r.Key (a reservation with that key exists and has not
// expired) returns nil without change; ECONFLICT if the stored reservation
// is for another invoice, holder or amount.
//
// Errors, with nothing stored: ENOTFOUND for an invoice the ledger does not
// know or that was deleted; EINVALID for a Draft or Void invoice, an
// amount that is not positive, in another currency than the invoice's, or
// more than balance − pending ("The amount must be at most 30.00 USD");
// ECONFLICT when other holders' reservations leave too little ("Another
// payment of this invoice is in progress; at most 10.00 USD can be paid
// now"). EINVALID too for an empty Key, InvoiceID or Holder, or an
// ExpiresAt not after now.
//
// Concurrent calls, from this process or others, decide one at a time per
// invoice: on Postgres the transaction locks the invoice row (SELECT … FOR
// UPDATE) before it reads anything, and on SQLite it is an immediate
// transaction, which holds the database's write lock from its start.
func (db *DB) Reserve(ctx context.Context, r stripesync.Reservation, now time.Time) ([]stripesync.Reservation, error) {
	r, err := normalizeReservation(r, now)
	if err != nil {
		return nil, err
	}
	var replaced []stripesync.Reservation
	err = db.transact(ctx, func(tx *sqlx.Tx) error {
		replaced = nil
		var row invoiceRow
		err := tx.GetContext(ctx, &row, tx.Rebind("SELECT "+invoiceColumns+" FROM invoices WHERE id = ?"+db.forUpdate()), r.InvoiceID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && row.Deleted) {
			return stripesync.Errorf(stripesync.ENOTFOUND, "store: invoice %s does not exist", r.InvoiceID)
		}
		if err != nil {
			return err
		}
		inv, rollup := row.invoice(), row.rollup()
		if err := payable(inv, r.Amount); err != nil {
			return err
		}
		// One read for the invoice's reservations (those that count, as
		// openReservations tells them) and r.Key's, wherever it is: a
		// statement less per payment than reading them apart.
		var rows []struct {
			reservationRow
			Settled bool `db:"settled"`
		}
		const sel = "SELECT " + reservationColumns + ", EXISTS (SELECT 1 FROM payments p WHERE p.id = r.payment_intent_id" +
			" AND p.invoice_id = r.invoice_id AND p.currency = r.currency AND p.status IN (?, ?, ?)) AS settled" +
			" FROM reservations r WHERE invoice_id = ? OR key = ?"
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(sel), countingStatuses[0], countingStatuses[1], countingStatuses[2],
			r.InvoiceID, r.Key); err != nil {
			return err
		}
		var open []reservationRow
		cut := utc(now) // as the statements compare it
		for _, o := range rows {
			live := time.Time(o.ExpiresAt).After(cut)
			if o.Key == r.Key && (live || o.InvoiceID != r.InvoiceID) {
				// An expired reservation of this invoice is deleted below,
				// and so not a repeat; one of another invoice is not ours
				// to delete.
				if o.InvoiceID != r.InvoiceID || o.Holder != r.Holder || o.Amount != r.Amount.Amount || o.Currency != r.Amount.Currency {
					return stripesync.Errorf(stripesync.ECONFLICT, "store: reservation %s is already held by %s for %s of invoice %s",
						r.Key, o.Holder, o.reservation().Amount, o.InvoiceID)
				}
				return nil
			}
			if o.InvoiceID == inv.ID && live && o.Currency == inv.Total.Currency && !o.Settled {
				open = append(open, o.reservationRow)
			}
		}
		left := rollup.Balance.Amount - rollup.Pending.Amount
		if r.Amount.Amount > left {
			if left <= 0 {
				return stripesync.Errorf(stripesync.EINVALID, "The invoice has no balance left to pay")
			}
			return stripesync.Errorf(stripesync.EINVALID, "The amount must be at most %s", money(left, inv))
		}
		left -= reserved(open, r.Holder)
		if r.Amount.Amount > left {
			if left <= 0 {
				return stripesync.Errorf(stripesync.ECONFLICT, "Another payment of this invoice is in progress; nothing more can be paid now")
			}
			return stripesync.Errorf(stripesync.ECONFLICT, "Another payment of this invoice is in progress; at most %s can be paid now",
				money(left, inv))
		}
		// The expired reservations of the invoice go with r.Holder's,
		// which r replaces; only the unexpired ones are returned.
		var gone []reservationRow
		const del = "DELETE FROM reservations WHERE invoice_id = ? AND (expires_at <= ? OR holder = ?) RETURNING " + reservationColumns
		if err := tx.SelectContext(ctx, &gone, tx.Rebind(del), r.InvoiceID, db.ts(now), r.Holder); err != nil {
			return err
		}
		slices.SortFunc(gone, func(a, b reservationRow) int {
			if c := time.Time(a.Created).Compare(time.Time(b.Created)); c != 0 {
				return c
			}
			return strings.Compare(a.Key, b.Key)
		})
		for _, m := range gone {
			if m.Holder == r.Holder && time.Time(m.ExpiresAt).After(cut) {
				replaced = append(replaced, m.reservation())
			}
		}
		const ins = "INSERT INTO reservations (" + reservationColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
		_, err = tx.ExecContext(ctx, tx.Rebind(ins), r.Key, r.InvoiceID, r.Amount.Amount, r.Amount.Currency, r.Holder,
			r.SessionID, r.PaymentIntentID, db.ts(r.ExpiresAt), db.ts(now))
		return err
	})
	if err != nil {
		return nil, wrap(err, "reserve %s of invoice %s", r.Amount, r.InvoiceID)
	}
	return replaced, nil
}

// payable refuses a payment of amount for inv when inv is not open to
// payment (Draft or Void) or amount is in another currency.
func payable(inv stripesync.Invoice, amount stripesync.Money) error {
	if inv.Status == stripesync.InvoiceDraft || inv.Status == stripesync.InvoiceVoid {
		return stripesync.Errorf(stripesync.EINVALID, "Invoice %s is %s and cannot be paid", inv.Number, inv.Status)
	}
	if amount.Currency != inv.Total.Currency {
		return stripesync.Errorf(stripesync.EINVALID, "The amount must be in %s, the invoice's currency, not %s",
			inv.Total.Currency, amount.Currency)
	}
	return nil
}

func money(amount int64, inv stripesync.Invoice) stripesync.Money {
	return stripesync.Money{Amount: amount, Currency: inv.Total.Currency}
}

// reserved sums the reservations of holders other than holder ("": of
// everyone).
func reserved(rows []reservationRow, holder string) int64 {
	var sum int64
	for _, r := range rows {
		if holder == "" || r.Holder != holder {
			sum += r.Amount
		}
	}
	return sum
}

// countingStatuses are the payment statuses the rollup counts, as pending
// or paid: a reservation bound to a payment in one of them no longer
// counts, or the amount would count twice.
var countingStatuses = [3]string{
	string(stripesync.PaymentAwaitingVerification), string(stripesync.PaymentProcessing), string(stripesync.PaymentSucceeded),
}

// openReservations reads the reservations of invs that count against
// their balances at now, by invoice id: unexpired, in the invoice's
// currency, and not bound to a PaymentIntent the ledger records for the
// invoice in one of countingStatuses (the payment itself counts then).
func (db *DB) openReservations(ctx context.Context, q sqlx.QueryerContext, invs map[string]stripesync.Invoice,
	now time.Time) (map[string][]reservationRow, error) {
	ids := make([]string, 0, len(invs))
	for id := range invs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	const query = "SELECT " + reservationColumns + " FROM reservations r WHERE invoice_id IN (?) AND expires_at > ?" +
		" AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = r.payment_intent_id AND p.invoice_id = r.invoice_id" +
		" AND p.currency = r.currency AND p.status IN (?, ?, ?)) ORDER BY invoice_id, created, key"
	out := make(map[string][]reservationRow, len(ids))
	for start := 0; start < len(ids); start += idBatch {
		qs, args, err := sqlx.In(query, ids[start:min(start+idBatch, len(ids))], db.ts(now),
			countingStatuses[0], countingStatuses[1], countingStatuses[2])
		if err != nil {
			return nil, err
		}
		var rows []reservationRow
		if err := sqlx.SelectContext(ctx, q, &rows, db.x.Rebind(qs), args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Currency == invs[r.InvoiceID].Total.Currency {
				out[r.InvoiceID] = append(out[r.InvoiceID], r)
			}
		}
	}
	return out, nil
}

// BindReservation records the Checkout Session and/or PaymentIntent the
// reservation with key became; an empty sessionID or paymentIntentID
// leaves that field as it is. An unknown key (never reserved, released, or
// expired and deleted) is ENOTFOUND; an empty one EINVALID.
func (db *DB) BindReservation(ctx context.Context, key, sessionID, paymentIntentID string) error {
	if key == "" {
		return stripesync.Errorf(stripesync.EINVALID, "store: bind reservation: no key")
	}
	q, args := "UPDATE reservations SET key = key", []any{}
	if sessionID != "" {
		q, args = q+", session_id = ?", append(args, sessionID)
	}
	if paymentIntentID != "" {
		q, args = q+", payment_intent_id = ?", append(args, paymentIntentID)
	}
	res, err := db.x.ExecContext(ctx, db.x.Rebind(q+" WHERE key = ?"), append(args, key)...)
	if err != nil {
		return wrap(err, "bind reservation %s", key)
	}
	return oneRow(res, "reservation %s", key)
}

// RecordCharge records p, the PaymentIntent that a charge held by the
// reservation with key became, as [DB.RecordPayment] does, and in the same
// transaction binds the reservation to it ([DB.BindReservation]) and, when
// action is not nil, appends action to the staff audit trail
// ([DB.RecordStaffAction]). The three wrote a commit each, with the
// reservation left unbound and the attempt unaudited in between; a staff
// payment's answer waited for all three (a WAL fsync each on SQLite).
//
// A reservation no longer there (released, or expired and deleted) is not
// an error: the recorded payment counts in its place. It is all or
// nothing otherwise: an invalid payment or action (EINVALID) or a failed
// transaction records none of the three. The reservation is bound last,
// after the invoice rows are locked, so that on Postgres it never holds a
// reservation row while waiting for an invoice row that Reserve holds.
func (db *DB) RecordCharge(ctx context.Context, key string, p stripesync.Payment, action *stripesync.StaffAction) (stripesync.Payment, error) {
	if key == "" {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID, "store: record charge: no reservation key")
	}
	if action != nil {
		if err := checkStaffAction(*action); err != nil {
			return stripesync.Payment{}, err
		}
	}
	ps, err := normalizePayments([]stripesync.Payment{p})
	if err != nil {
		return stripesync.Payment{}, err
	}
	var stored stripesync.Payment
	err = db.transact(ctx, func(tx *sqlx.Tx) error {
		recs, err := db.recordPayments(ctx, tx, ps)
		if err != nil {
			return err
		}
		stored = recs[0].Stored
		const bind = "UPDATE reservations SET payment_intent_id = ? WHERE key = ?"
		if _, err := tx.ExecContext(ctx, tx.Rebind(bind), p.ID, key); err != nil {
			return err
		}
		if action == nil {
			return nil
		}
		return db.insertStaffAction(ctx, tx, *action)
	})
	if err != nil {
		return stripesync.Payment{}, recordError(err, ps)
	}
	return stored, nil
}

// ReleaseReservation deletes the reservation with key and returns it, so
// that the caller can expire its Checkout Session; ok is false for an
// unknown key, which is not an error.
func (db *DB) ReleaseReservation(ctx context.Context, key string) (stripesync.Reservation, bool, error) {
	if key == "" {
		return stripesync.Reservation{}, false, stripesync.Errorf(stripesync.EINVALID, "store: release reservation: no key")
	}
	var row reservationRow
	err := db.x.GetContext(ctx, &row, db.x.Rebind("DELETE FROM reservations WHERE key = ? RETURNING "+reservationColumns), key)
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.Reservation{}, false, nil
	}
	if err != nil {
		return stripesync.Reservation{}, false, wrap(err, "release reservation %s", key)
	}
	return row.reservation(), true, nil
}

// ReleaseSession deletes the reservation bound to Checkout Session
// sessionID, if any; an empty sessionID is EINVALID (it would name every
// reservation not bound to a session).
func (db *DB) ReleaseSession(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return stripesync.Errorf(stripesync.EINVALID, "store: release session: no session id")
	}
	_, err := db.x.ExecContext(ctx, db.x.Rebind("DELETE FROM reservations WHERE session_id = ?"), sessionID)
	return wrap(err, "release the reservation of session %s", sessionID)
}

// HoldSession binds the reservation of Checkout Session sessionID to its
// PaymentIntent and keeps it until until ([stripesync.CollectionLedger]),
// or deletes it when the ledger already records that PaymentIntent as
// Failed or Canceled: an out-of-order delivery must not hold the amount
// of a payment that will never come.
func (db *DB) HoldSession(ctx context.Context, sessionID, paymentIntentID string, until time.Time) error {
	if sessionID == "" || paymentIntentID == "" {
		return stripesync.Errorf(stripesync.EINVALID, "store: hold session: no session or PaymentIntent id")
	}
	return db.transact(ctx, func(tx *sqlx.Tx) error {
		var status string
		err := tx.GetContext(ctx, &status, tx.Rebind("SELECT status FROM payments WHERE id = ?"), paymentIntentID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return wrap(err, "hold session %s", sessionID)
		}
		if status == string(stripesync.PaymentFailed) || status == string(stripesync.PaymentCanceled) {
			_, err = tx.ExecContext(ctx, tx.Rebind("DELETE FROM reservations WHERE session_id = ?"), sessionID)
			return wrap(err, "release the reservation of session %s", sessionID)
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE reservations SET payment_intent_id = ?, expires_at = ? WHERE session_id = ?"),
			paymentIntentID, db.ts(utc(until)), sessionID)
		return wrap(err, "hold session %s", sessionID)
	})
}

// releaseFailedReservations deletes, inside RecordPayments' transaction,
// the reservations bound to the PaymentIntents among ps that failed or
// were canceled: they no longer hold anything. It runs after the invoice
// rows are locked, so that on Postgres it never holds a reservation row
// while waiting for an invoice row that Reserve holds.
func (db *DB) releaseFailedReservations(ctx context.Context, tx *sqlx.Tx, ps []stripesync.Payment) error {
	var ids []string
	for _, p := range ps {
		if p.Status == stripesync.PaymentFailed || p.Status == stripesync.PaymentCanceled {
			ids = append(ids, p.ID)
		}
	}
	for start := 0; start < len(ids); start += idBatch {
		q, args, err := sqlx.In("DELETE FROM reservations WHERE payment_intent_id IN (?)", ids[start:min(start+idBatch, len(ids))])
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}

// InvoiceView returns invoice invoiceID as a payer sees it at now: its
// rollup, computed from the payments returned with it (oldest first), the
// sum of the reservations of holders other than holder that count against
// its balance (see Reserve; holder "" counts everyone's), and what can be
// paid now: balance − pending − reserved, never below zero, and zero for a
// Draft or Void invoice. An unknown or deleted invoice is ENOTFOUND.
func (db *DB) InvoiceView(ctx context.Context, invoiceID, holder string, now time.Time) (stripesync.InvoiceView, error) {
	// One query reads the invoice and sums the other holders' open
	// reservations, with the rules of openReservations; a second its
	// payments. The pay page renders this on every visit.
	var row struct {
		invoiceRow
		Reserved int64 `db:"reserved"`
	}
	err := db.x.GetContext(ctx, &row, db.x.Rebind("SELECT "+invoiceColumns+", "+reservedSum("invoices")+" AS reserved FROM invoices WHERE id = ?"),
		db.reservedArgs(holder, now, invoiceID)...)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && row.Deleted) {
		return stripesync.InvoiceView{}, stripesync.Errorf(stripesync.ENOTFOUND, "store: invoice %s does not exist", invoiceID)
	}
	if err != nil {
		return stripesync.InvoiceView{}, wrap(err, "read invoice %s", invoiceID)
	}
	inv := row.invoice()
	payments, err := db.paymentsOfInvoices(ctx, db.x, []string{inv.ID})
	if err != nil {
		return stripesync.InvoiceView{}, wrap(err, "read invoice %s", invoiceID)
	}
	return viewOf(inv, stripesync.RollUp(inv, payments[inv.ID]), payments[inv.ID], row.Reserved), nil
}

// reservedSum is the SQL sum of the open reservations of the invoice in
// table (a name or an alias of invoices) that holders other than a given
// one hold, with the rules of openReservations; its arguments are
// reservedArgs'.
func reservedSum(table string) string {
	return "COALESCE((SELECT SUM(r.amount) FROM reservations r WHERE r.invoice_id = " + table + ".id" +
		" AND r.currency = " + table + ".currency AND r.expires_at > ? AND (? = '' OR r.holder <> ?)" +
		" AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = r.payment_intent_id AND p.invoice_id = r.invoice_id" +
		" AND p.currency = r.currency AND p.status IN (?, ?, ?))), 0)"
}

// reservedArgs are the arguments of reservedSum for holder at now, then
// more.
func (db *DB) reservedArgs(holder string, now time.Time, more ...any) []any {
	return append([]any{db.ts(now), holder, holder, countingStatuses[0], countingStatuses[1], countingStatuses[2]}, more...)
}

// payerViewQuery reads an invoice, the sum of the reservations of holders
// other than one, and its account's Stripe customer and saved methods
// (one row a method, at least one row): the queries of InvoiceView and
// AccountMethods in one, without the invoice's payments.
var payerViewQuery = "SELECT " + qualified("i", invoiceColumns) + ", " + reservedSum("i") + " AS reserved," +
	" COALESCE(a.stripe_id, '') AS stripe_id, f.fetched_at, COALESCE(m.position, 0) AS \"m.position\"," +
	" COALESCE(m.id, '') AS \"m.id\", COALESCE(m.type, '') AS \"m.type\", COALESCE(m.brand, '') AS \"m.brand\"," +
	" COALESCE(m.last4, '') AS \"m.last4\", COALESCE(m.exp_month, 0) AS \"m.exp_month\", COALESCE(m.exp_year, 0) AS \"m.exp_year\"," +
	" COALESCE(m.bank_name, '') AS \"m.bank_name\", m.is_default IS TRUE AS \"m.is_default\"" +
	" FROM invoices i LEFT JOIN account_links a ON a.crm_id = i.account_id AND a.state = ? AND a.stripe_id <> ''" +
	" LEFT JOIN saved_method_fetches f ON f.customer_id = a.stripe_id" +
	" LEFT JOIN saved_methods m ON m.customer_id = f.customer_id" +
	" WHERE i.id = ? ORDER BY m.position"

// qualified prefixes each of the comma-separated columns with table.
func qualified(table, columns string) string {
	return table + "." + strings.ReplaceAll(columns, ", ", ", "+table+".")
}

// payerRow is a row of payerViewQuery: the invoice, the others'
// reservations, the customer and one of its saved methods.
type payerRow struct {
	invoiceRow
	Reserved  int64          `db:"reserved"`
	StripeID  string         `db:"stripe_id"`
	FetchedAt dbTime         `db:"fetched_at"`
	Method    savedMethodRow `db:"m"` // columns "m.id" and so on: the invoice has an id too
}

// PayerView implements [stripesync.CollectionLedger]: InvoiceView's
// invoice, rollup and reservations, with the rollup as stored rather than
// computed from the invoice's payments (which are not read: a payment does
// not show them, and reading them made every payment slower than the one
// before on a busy invoice), and AccountMethods' customer and methods.
// One query rather than three.
func (db *DB) PayerView(ctx context.Context, invoiceID, holder string, now time.Time) (stripesync.PayerView, error) {
	var rows []payerRow
	args := db.reservedArgs(holder, now, string(stripesync.LinkBound), invoiceID)
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(payerViewQuery), args...); err != nil {
		return stripesync.PayerView{}, wrap(err, "read invoice %s", invoiceID)
	}
	if len(rows) == 0 || rows[0].Deleted {
		return stripesync.PayerView{}, stripesync.Errorf(stripesync.ENOTFOUND, "store: invoice %s does not exist", invoiceID)
	}
	first := rows[0]
	inv := first.invoice()
	v := stripesync.PayerView{
		InvoiceView:    viewOf(inv, first.rollup(), nil, first.Reserved),
		CustomerID:     first.StripeID,
		MethodsFetched: time.Time(first.FetchedAt),
	}
	for _, r := range rows {
		if r.Method.ID != "" {
			v.Methods = append(v.Methods, r.Method.method(v.CustomerID))
		}
	}
	return v, nil
}

// payPageQuery reads, in one statement, the pay page of an invoice
// (PayPage): its rows come in two parts, each at least one row long. Part
// 1 is payerViewQuery's, one row a saved method, and carries the sum of
// the other holders' reservations and the links' revocation; part 2 is
// one row an invoice payment, oldest first. Both repeat the invoice's
// columns (a row is a row of the invoice), and a part's columns are zero
// in the other's rows, where the outer join found nothing.
var payPageQuery = "SELECT " + qualified("i", invoiceColumns) + ", s.part," +
	" CASE WHEN s.part = 1 THEN " + reservedSum("i") + " ELSE 0 END AS reserved," +
	" CASE WHEN s.part = 1 THEN (SELECT revoked_at FROM link_revocations l WHERE l.invoice_id = i.id) END AS revoked_at," +
	" COALESCE(a.stripe_id, '') AS stripe_id, f.fetched_at, COALESCE(m.position, 0) AS \"m.position\"," +
	" COALESCE(m.id, '') AS \"m.id\", COALESCE(m.type, '') AS \"m.type\", COALESCE(m.brand, '') AS \"m.brand\"," +
	" COALESCE(m.last4, '') AS \"m.last4\", COALESCE(m.exp_month, 0) AS \"m.exp_month\", COALESCE(m.exp_year, 0) AS \"m.exp_year\"," +
	" COALESCE(m.bank_name, '') AS \"m.bank_name\", m.is_default IS TRUE AS \"m.is_default\", " + outerPaymentColumns +
	" FROM invoices i LEFT JOIN account_links a ON a.crm_id = i.account_id AND a.state = ? AND a.stripe_id <> ''" +
	" LEFT JOIN saved_method_fetches f ON f.customer_id = a.stripe_id" +
	" CROSS JOIN (SELECT 1 AS part UNION ALL SELECT 2) s" +
	" LEFT JOIN saved_methods m ON s.part = 1 AND m.customer_id = f.customer_id" +
	" LEFT JOIN payments p ON s.part = 2 AND p.invoice_id = i.id" +
	" WHERE i.id = ? ORDER BY s.part, m.position, p.created, p.id"

// outerPaymentColumns are paymentColumns of payments p, outer-joined:
// named "p.<column>" (the invoice has an id, a status… too) and zero, not
// NULL, where no payment joined. The times and the receipt number scan
// NULL as zero already.
var outerPaymentColumns = func() string {
	zero := map[string]string{"amount": "0", "refunded": "0", "disputed": "FALSE",
		"created": "", "paid_at": "", "charge_created": "", "receipt_number": "", "updated_at": ""}
	var cols []string
	for _, c := range strings.Split(paymentColumns, ", ") {
		z, ok := zero[c]
		switch {
		case !ok:
			cols = append(cols, "COALESCE(p."+c+", '') AS \"p."+c+"\"")
		case z == "":
			cols = append(cols, "p."+c+" AS \"p."+c+"\"")
		default:
			cols = append(cols, "COALESCE(p."+c+", "+z+") AS \"p."+c+"\"")
		}
	}
	return strings.Join(cols, ", ")
}()

// PayPage implements [stripesync.CollectionLedger]: InvoiceView's invoice,
// payments, computed rollup and reservations, AccountMethods' customer and
// methods and LinksRevokedAt's time, from one statement (payPageQuery)
// where they were four, each a round trip to Postgres, prepared (see
// prepared: planned on every run, it cost as much as the four): the pay
// page reads this on every visit.
func (db *DB) PayPage(ctx context.Context, invoiceID, holder string, now time.Time) (stripesync.PayPage, error) {
	var rows []struct {
		payerRow
		Part      int        `db:"part"`
		RevokedAt dbTime     `db:"revoked_at"`
		Payment   paymentRow `db:"p"`
	}
	args := db.reservedArgs(holder, now, string(stripesync.LinkBound), invoiceID)
	if err := db.selectPrepared(ctx, &rows, payPageQuery, args...); err != nil {
		return stripesync.PayPage{}, wrap(err, "read the pay page of invoice %s", invoiceID)
	}
	if len(rows) == 0 || rows[0].Deleted {
		return stripesync.PayPage{}, stripesync.Errorf(stripesync.ENOTFOUND, "store: invoice %s does not exist", invoiceID)
	}
	first := rows[0]
	inv := first.invoice()
	var payments []stripesync.Payment
	var methods []stripesync.SavedMethod
	for _, r := range rows {
		switch {
		case r.Part == 1 && r.Method.ID != "":
			methods = append(methods, r.Method.method(first.StripeID))
		case r.Part == 2 && r.Payment.ID != "":
			payments = append(payments, r.Payment.payment())
		}
	}
	return stripesync.PayPage{
		PayerView: stripesync.PayerView{
			InvoiceView:    viewOf(inv, stripesync.RollUp(inv, payments), payments, first.Reserved),
			CustomerID:     first.StripeID,
			Methods:        methods,
			MethodsFetched: time.Time(first.FetchedAt),
		},
		LinksRevokedAt: time.Time(first.RevokedAt),
	}, nil
}

// AccountInvoices returns the invoices of CRM account accountID that are
// not deleted, newest due date first (those without one last, then by
// id), each as InvoiceView shows it to no particular holder: Reserved
// counts every open reservation. None is nil; an empty accountID is
// EINVALID.
func (db *DB) AccountInvoices(ctx context.Context, accountID string) ([]stripesync.InvoiceView, error) {
	if accountID == "" {
		return nil, stripesync.Errorf(stripesync.EINVALID, "store: list invoices: no account id")
	}
	const q = "SELECT " + invoiceColumns + " FROM invoices WHERE account_id = ? AND NOT deleted" +
		" ORDER BY due_date DESC NULLS LAST, id"
	var rows []invoiceRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), accountID); err != nil {
		return nil, wrap(err, "list invoices of account %s", accountID)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	invs := make([]stripesync.Invoice, len(rows))
	for i, r := range rows {
		invs[i] = r.invoice()
	}
	views, err := db.invoiceViews(ctx, invs, "", db.now())
	return views, wrap(err, "list invoices of account %s", accountID)
}

// invoiceViews reads the payments and open reservations of invs and
// returns their views, index-aligned.
func (db *DB) invoiceViews(ctx context.Context, invs []stripesync.Invoice, holder string, now time.Time) ([]stripesync.InvoiceView, error) {
	ids := make([]string, len(invs))
	byID := make(map[string]stripesync.Invoice, len(invs))
	for i, inv := range invs {
		ids[i], byID[inv.ID] = inv.ID, inv
	}
	payments, err := db.paymentsOfInvoices(ctx, db.x, ids)
	if err != nil {
		return nil, err
	}
	open, err := db.openReservations(ctx, db.x, byID, now)
	if err != nil {
		return nil, err
	}
	views := make([]stripesync.InvoiceView, len(invs))
	for i, inv := range invs {
		views[i] = viewOf(inv, stripesync.RollUp(inv, payments[inv.ID]), payments[inv.ID], reserved(open[inv.ID], holder))
	}
	return views, nil
}

// viewOf is an invoice as a payer sees it, given its rollup, its payments
// and what other payers hold.
func viewOf(inv stripesync.Invoice, rollup stripesync.Rollup, payments []stripesync.Payment, reserved int64) stripesync.InvoiceView {
	v := stripesync.InvoiceView{
		Invoice:  inv,
		Rollup:   rollup,
		Payments: payments,
		Reserved: money(reserved, inv),
	}
	v.Payable = money(max(0, v.Rollup.Balance.Amount-v.Rollup.Pending.Amount-v.Reserved.Amount), inv)
	if inv.Status == stripesync.InvoiceDraft || inv.Status == stripesync.InvoiceVoid {
		v.Payable.Amount = 0
	}
	return v
}

// RevokeLinks makes every link to invoiceID issued before at stop
// working: it keeps the latest time it was given per invoice (to the
// microsecond), so a revocation never moves back. An empty invoiceID or a
// zero at is EINVALID.
func (db *DB) RevokeLinks(ctx context.Context, invoiceID string, at time.Time) error {
	if invoiceID == "" || at.IsZero() {
		return stripesync.Errorf(stripesync.EINVALID, "store: revoke links: no invoice id or time")
	}
	const q = "INSERT INTO link_revocations (invoice_id, revoked_at) VALUES (?, ?)" +
		" ON CONFLICT (invoice_id) DO UPDATE SET revoked_at = excluded.revoked_at" +
		" WHERE link_revocations.revoked_at < excluded.revoked_at"
	_, err := db.x.ExecContext(ctx, db.x.Rebind(q), invoiceID, db.ts(at))
	return wrap(err, "revoke the links of invoice %s", invoiceID)
}

// LinksRevokedAt returns the latest time given to RevokeLinks for
// invoiceID, in UTC, or the zero time if none.
func (db *DB) LinksRevokedAt(ctx context.Context, invoiceID string) (time.Time, error) {
	var at dbTime
	err := db.x.GetContext(ctx, &at, db.x.Rebind("SELECT revoked_at FROM link_revocations WHERE invoice_id = ?"), invoiceID)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap(err, "read the link revocation of invoice %s", invoiceID)
	}
	return time.Time(at), nil
}

const savedMethodColumns = "customer_id, position, id, type, brand, last4, exp_month, exp_year, bank_name, is_default"

type savedMethodRow struct {
	CustomerID string `db:"customer_id"`
	Position   int    `db:"position"`
	ID         string `db:"id"`
	Type       string `db:"type"`
	Brand      string `db:"brand"`
	Last4      string `db:"last4"`
	ExpMonth   int    `db:"exp_month"`
	ExpYear    int    `db:"exp_year"`
	BankName   string `db:"bank_name"`
	Default    bool   `db:"is_default"`
}

func (r savedMethodRow) method(customerID string) stripesync.SavedMethod {
	return stripesync.SavedMethod{
		ID: r.ID, CustomerID: customerID, Type: r.Type, Brand: r.Brand, Last4: r.Last4,
		ExpMonth: r.ExpMonth, ExpYear: r.ExpYear, BankName: r.BankName, Default: r.Default,
	}
}

// methodsPerInsert bounds one multi-row insert of saved methods (10
// parameters a row).
const methodsPerInsert = 50

// AccountMethods returns the Stripe customer an account is bound to ("" if
// it is not bound) with the ledger's copy of its saved methods and when
// that was read (zero: never), in one query: the pay page asks on every
// visit.
func (db *DB) AccountMethods(ctx context.Context, accountID string) (string, []stripesync.SavedMethod, time.Time, error) {
	const q = "SELECT a.stripe_id, f.fetched_at, COALESCE(m.position, 0) AS position, COALESCE(m.id, '') AS id," +
		" COALESCE(m.type, '') AS type, COALESCE(m.brand, '') AS brand, COALESCE(m.last4, '') AS last4," +
		" COALESCE(m.exp_month, 0) AS exp_month, COALESCE(m.exp_year, 0) AS exp_year," +
		" COALESCE(m.bank_name, '') AS bank_name, m.is_default IS TRUE AS is_default" +
		" FROM account_links a LEFT JOIN saved_method_fetches f ON f.customer_id = a.stripe_id" +
		" LEFT JOIN saved_methods m ON m.customer_id = f.customer_id" +
		" WHERE a.crm_id = ? AND a.state = ? AND a.stripe_id <> '' ORDER BY m.position"
	var rows []struct {
		StripeID  string `db:"stripe_id"`
		FetchedAt dbTime `db:"fetched_at"`
		savedMethodRow
	}
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), accountID, string(stripesync.LinkBound)); err != nil {
		return "", nil, time.Time{}, wrap(err, "read the saved methods of account %s", accountID)
	}
	if len(rows) == 0 {
		return "", nil, time.Time{}, nil
	}
	customerID := rows[0].StripeID
	var methods []stripesync.SavedMethod
	for _, r := range rows {
		if r.ID != "" {
			methods = append(methods, r.method(customerID))
		}
	}
	return customerID, methods, time.Time(rows[0].FetchedAt), nil
}

// SaveMethods replaces the ledger's copy of customerID's saved methods
// with methods, read from Stripe at at. A copy read earlier than the one
// stored is stale and changes nothing, so that two refreshes finishing out
// of order leave the newer. An empty customerID, a zero at, a method
// without an ID or one whose CustomerID names another customer is
// EINVALID and nothing is saved.
func (db *DB) SaveMethods(ctx context.Context, customerID string, methods []stripesync.SavedMethod, at time.Time) error {
	if customerID == "" || at.IsZero() {
		return stripesync.Errorf(stripesync.EINVALID, "store: save methods: no customer id or time")
	}
	for _, m := range methods {
		if m.ID == "" || (m.CustomerID != "" && m.CustomerID != customerID) {
			return stripesync.Errorf(stripesync.EINVALID, "store: save methods of customer %s: method %q has no id or belongs to %q",
				customerID, m.ID, m.CustomerID)
		}
	}
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		// The upsert locks the customer's row, so that concurrent saves
		// of one customer run one at a time.
		const fetched = "INSERT INTO saved_method_fetches (customer_id, fetched_at) VALUES (?, ?)" +
			" ON CONFLICT (customer_id) DO UPDATE SET fetched_at = excluded.fetched_at" +
			" WHERE saved_method_fetches.fetched_at <= excluded.fetched_at"
		res, err := tx.ExecContext(ctx, tx.Rebind(fetched), customerID, db.ts(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // stale: nothing to change
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM saved_methods WHERE customer_id = ?"), customerID); err != nil {
			return err
		}
		for start := 0; start < len(methods); start += methodsPerInsert {
			chunk := methods[start:min(start+methodsPerInsert, len(methods))]
			args := make([]any, 0, 10*len(chunk))
			for i, m := range chunk {
				args = append(args, customerID, start+i, m.ID, m.Type, m.Brand, m.Last4, m.ExpMonth, m.ExpYear, m.BankName, m.Default)
			}
			q := "INSERT INTO saved_methods (" + savedMethodColumns + ") VALUES " + valuesRows(len(chunk), 10)
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "save the methods of customer %s", customerID)
}

// staleFetch is the fetched_at StaleMethods leaves: older than any copy a
// reader would take as fresh, and not the zero time, which means never
// read.
var staleFetch = time.Unix(0, 0)

// StaleMethods marks the ledger's copy of customerID's saved methods as
// read long ago, keeping the methods: SavedMethods still returns them,
// with a time that no reader takes as fresh, and the next SaveMethods
// replaces them. A customer never saved is not an error; an empty
// customerID is EINVALID.
func (db *DB) StaleMethods(ctx context.Context, customerID string) error {
	if customerID == "" {
		return stripesync.Errorf(stripesync.EINVALID, "store: stale methods: no customer id")
	}
	_, err := db.x.ExecContext(ctx, db.x.Rebind("UPDATE saved_method_fetches SET fetched_at = ? WHERE customer_id = ?"),
		db.ts(staleFetch), customerID)
	return wrap(err, "mark the methods of customer %s stale", customerID)
}
