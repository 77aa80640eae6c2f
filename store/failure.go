package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/stripesync/stripesync"
)

var _ stripesync.Failures = (*DB)(nil)

// failureColumns are read into failureRow.
const failureColumns = "id, dedup_key, source, invoice_id, account_id, payment_id, amount, currency, code, message," +
	" next_step, status, occurrences, retry_at, created, updated"

type failureRow struct {
	ID          int64  `db:"id"`
	Key         string `db:"dedup_key"`
	Source      string `db:"source"`
	InvoiceID   string `db:"invoice_id"`
	AccountID   string `db:"account_id"`
	PaymentID   string `db:"payment_id"`
	Amount      int64  `db:"amount"`
	Currency    string `db:"currency"`
	Code        string `db:"code"`
	Message     string `db:"message"`
	NextStep    string `db:"next_step"`
	Status      string `db:"status"`
	Occurrences int    `db:"occurrences"`
	RetryAt     dbTime `db:"retry_at"`
	Created     dbTime `db:"created"`
	Updated     dbTime `db:"updated"`
}

func (r failureRow) failure() stripesync.Failure {
	return stripesync.Failure{
		ID: r.ID, Key: r.Key, Source: stripesync.FailureSource(r.Source), InvoiceID: r.InvoiceID,
		AccountID: r.AccountID, PaymentID: r.PaymentID, Amount: stripesync.Money{Amount: r.Amount, Currency: r.Currency},
		Code: r.Code, Message: r.Message, NextStep: r.NextStep, Status: stripesync.FailureStatus(r.Status),
		Occurrences: r.Occurrences, RetryAt: time.Time(r.RetryAt), Created: time.Time(r.Created), Updated: time.Time(r.Updated),
	}
}

// RecordFailure implements [stripesync.Failures]. The digest's job is
// enqueued in the failure's transaction, so a failure recorded is a
// failure reported.
func (db *DB) RecordFailure(ctx context.Context, f stripesync.Failure, jobs ...stripesync.Job) (stripesync.Failure, error) {
	if f.Key == "" || f.Source == "" || f.Created.IsZero() {
		return stripesync.Failure{}, stripesync.Errorf(stripesync.EINVALID, "store: a failure needs its key, source and time")
	}
	if f.Status == "" {
		f.Status = stripesync.FailureOpen
	}
	var out stripesync.Failure
	err := db.transact(ctx, func(tx *sqlx.Tx) (err error) {
		if out, err = db.recordFailure(ctx, tx, f); err != nil {
			return err
		}
		return db.enqueueAll(ctx, tx, jobs)
	})
	return out, wrap(err, "record failure %s", f.Key)
}

// recordFailure is RecordFailure's upsert, inside tx, for a valid f with a
// status.
func (db *DB) recordFailure(ctx context.Context, tx *sqlx.Tx, f stripesync.Failure) (stripesync.Failure, error) {
	var prev failureRow
	err := tx.GetContext(ctx, &prev, tx.Rebind("SELECT "+failureColumns+" FROM failures WHERE dedup_key = ?"+db.forUpdate()), f.Key)
	var row failureRow
	switch {
	case errors.Is(err, sql.ErrNoRows):
		const q = "INSERT INTO failures (dedup_key, source, invoice_id, account_id, payment_id, amount, currency, code," +
			" message, next_step, status, occurrences, retry_at, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)" +
			" RETURNING " + failureColumns
		err = tx.GetContext(ctx, &row, tx.Rebind(q), f.Key, f.Source, f.InvoiceID, f.AccountID, f.PaymentID, f.Amount.Amount,
			f.Amount.Currency, clip(f.Code), clip(f.Message), f.NextStep, f.Status, db.ts(f.RetryAt), db.ts(f.Created), db.ts(f.Created))
	case err != nil:
		return stripesync.Failure{}, err
	default:
		// Seen again: the latest details, and due in the next digest
		// only when it opens again, so that retries of one failure do
		// not mail ops each time.
		reopened := f.Status == stripesync.FailureOpen && prev.Status != string(stripesync.FailureOpen)
		const q = "UPDATE failures SET source = ?, invoice_id = ?, account_id = ?, payment_id = ?, amount = ?, currency = ?," +
			" code = ?, message = ?, next_step = ?, status = ?, occurrences = occurrences + 1, retry_at = ?, updated = ?," +
			" notified = CASE WHEN ? THEN NULL ELSE notified END WHERE id = ? RETURNING " + failureColumns
		err = tx.GetContext(ctx, &row, tx.Rebind(q), f.Source, f.InvoiceID, f.AccountID, f.PaymentID, f.Amount.Amount,
			f.Amount.Currency, clip(f.Code), clip(f.Message), f.NextStep, f.Status, db.ts(f.RetryAt), db.ts(f.Created),
			reopened, prev.ID)
	}
	if err != nil {
		return stripesync.Failure{}, err
	}
	out := row.failure()
	if prev.ID != 0 && prev.Status == string(f.Status) {
		return out, nil
	}
	return out, db.addFailureChange(ctx, tx, out.ID, stripesync.FailureChange{At: f.Created, Status: f.Status, Note: f.Message})
}

// recordPaymentFailures puts in the failure inbox the payments of a
// RecordPayments batch that have just failed, and resolves the entries of
// the invoices a success in it paid, in the batch's transaction: a payment
// recorded failed is a failure recorded. It returns the digest's job when
// it recorded any.
func (db *DB) recordPaymentFailures(ctx context.Context, tx *sqlx.Tx, stored map[string]stripesync.Payment, nexts []stripesync.Payment, rollups []string, now time.Time) ([]stripesync.Job, error) {
	var jobs []stripesync.Job
	paid := false
	for _, p := range nexts {
		paid = paid || p.Status == stripesync.PaymentSucceeded
		var due time.Time
		if p.Status == stripesync.PaymentFailed && p.Channel == stripesync.ChannelAutoPay && p.InvoiceID != "" {
			var d dbTime
			err := tx.GetContext(ctx, &d, tx.Rebind("SELECT due_date FROM invoices WHERE id = ?"), p.InvoiceID)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			due = time.Time(d)
		}
		f, ok := stripesync.PaymentFailure(p, stored[p.ID].Status, due, now)
		if !ok {
			continue
		}
		if _, err := db.recordFailure(ctx, tx, f); err != nil {
			return nil, err
		}
		jobs = []stripesync.Job{stripesync.FailureDigestJob(now)}
	}
	if paid && len(rollups) > 0 {
		if err := db.resolvePaidInvoices(ctx, tx, rollups, now); err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

// resolvePaidInvoices resolves the open entries of those of invoices whose
// rollup now says Paid, in one statement (a batch of events touches many
// invoices, and most have no entry at all).
func (db *DB) resolvePaidInvoices(ctx context.Context, tx *sqlx.Tx, invoices []string, now time.Time) error {
	q, args, err := sqlx.In("UPDATE failures SET status = ?, updated = ?, retry_at = NULL WHERE status IN (?, ?)"+
		" AND invoice_id IN (SELECT id FROM invoices WHERE id IN (?) AND status = ?) RETURNING id",
		stripesync.FailureResolved, db.ts(now), stripesync.FailureOpen, stripesync.FailureRetrying, invoices, stripesync.InvoicePaid)
	if err != nil {
		return err
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, tx.Rebind(q), args...); err != nil {
		return err
	}
	for _, id := range ids {
		c := stripesync.FailureChange{At: now, Status: stripesync.FailureResolved, Note: "The invoice was paid."}
		if err := db.addFailureChange(ctx, tx, id, c); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) addFailureChange(ctx context.Context, tx *sqlx.Tx, id int64, c stripesync.FailureChange) error {
	const q = "INSERT INTO failure_changes (failure_id, at, status, staff, note) VALUES (?, ?, ?, ?, ?)"
	_, err := tx.ExecContext(ctx, tx.Rebind(q), id, db.ts(c.At), c.Status, c.Staff, clip(c.Note))
	return err
}

// Failure implements [stripesync.Failures].
func (db *DB) Failure(ctx context.Context, id int64) (stripesync.Failure, []stripesync.FailureChange, error) {
	var row failureRow
	err := db.x.GetContext(ctx, &row, db.x.Rebind("SELECT "+failureColumns+" FROM failures WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.Failure{}, nil, stripesync.Errorf(stripesync.ENOTFOUND, "There is no failure %d", id)
	}
	if err != nil {
		return stripesync.Failure{}, nil, wrap(err, "read failure %d", id)
	}
	var changes []struct {
		At     dbTime `db:"at"`
		Status string `db:"status"`
		Staff  string `db:"staff"`
		Note   string `db:"note"`
	}
	const q = "SELECT at, status, staff, note FROM failure_changes WHERE failure_id = ? ORDER BY id"
	if err := db.x.SelectContext(ctx, &changes, db.x.Rebind(q), id); err != nil {
		return stripesync.Failure{}, nil, wrap(err, "read the history of failure %d", id)
	}
	history := make([]stripesync.FailureChange, len(changes))
	for i, c := range changes {
		history[i] = stripesync.FailureChange{At: time.Time(c.At), Status: stripesync.FailureStatus(c.Status), Staff: c.Staff, Note: c.Note}
	}
	return row.failure(), history, nil
}

// defaultFailureLimit is a list's length when the filter names none.
const defaultFailureLimit = 100

// ListFailures implements [stripesync.Failures].
func (db *DB) ListFailures(ctx context.Context, f stripesync.FailureFilter) ([]stripesync.Failure, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultFailureLimit
	}
	q := "SELECT " + failureColumns + " FROM failures WHERE 1 = 1"
	var args []any
	if f.Status != "" {
		q += " AND status = ?"
		args = append(args, f.Status)
	}
	if f.InvoiceID != "" {
		q += " AND invoice_id = ?"
		args = append(args, f.InvoiceID)
	}
	q += " ORDER BY updated DESC, id DESC LIMIT ?"
	args = append(args, limit)
	var rows []failureRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), args...); err != nil {
		return nil, wrap(err, "list failures")
	}
	out := make([]stripesync.Failure, len(rows))
	for i, r := range rows {
		out[i] = r.failure()
	}
	return out, nil
}

// SetFailureStatus implements [stripesync.Failures].
func (db *DB) SetFailureStatus(ctx context.Context, id int64, status stripesync.FailureStatus, staff, note string, now time.Time) (stripesync.Failure, error) {
	var out stripesync.Failure
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		const q = "UPDATE failures SET status = ?, updated = ?, retry_at = NULL WHERE id = ? RETURNING " + failureColumns
		var row failureRow
		err := tx.GetContext(ctx, &row, tx.Rebind(q), status, db.ts(now), id)
		if errors.Is(err, sql.ErrNoRows) {
			return stripesync.Errorf(stripesync.ENOTFOUND, "There is no failure %d", id)
		}
		if err != nil {
			return err
		}
		out = row.failure()
		return db.addFailureChange(ctx, tx, id, stripesync.FailureChange{At: now, Status: status, Staff: staff, Note: note})
	})
	return out, wrap(err, "set the status of failure %d", id)
}

// DueFailures implements [stripesync.Failures].
func (db *DB) DueFailures(ctx context.Context, limit int) ([]stripesync.Failure, error) {
	var rows []failureRow
	q := "SELECT " + failureColumns + " FROM failures WHERE notified IS NULL ORDER BY id LIMIT ?"
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), limit); err != nil {
		return nil, wrap(err, "read the failures due in the digest")
	}
	out := make([]stripesync.Failure, len(rows))
	for i, r := range rows {
		out[i] = r.failure()
	}
	return out, nil
}

// MarkNotified implements [stripesync.Failures].
func (db *DB) MarkNotified(ctx context.Context, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	q, args, err := sqlx.In("UPDATE failures SET notified = ? WHERE id IN (?)", db.ts(now), ids)
	if err != nil {
		return wrap(err, "mark failures notified")
	}
	_, err = db.x.ExecContext(ctx, db.x.Rebind(q), args...)
	return wrap(err, "mark failures notified")
}
