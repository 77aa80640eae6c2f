package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stripesync/stripesync"
)

// AutoPayInvoices returns up to limit invoices auto-pay charges when the
// day is dueBy (a date, at midnight UTC): Auto_Pay__c set, not deleted,
// a balance left, not Draft, Void or Paid, due on or before dueBy. They
// come in id order, after the id after, so that a run pages through them
// and a page never shifts under it.
func (db *DB) AutoPayInvoices(ctx context.Context, dueBy time.Time, after string, limit int) ([]stripesync.Invoice, error) {
	if limit < 1 {
		return nil, stripesync.Errorf(stripesync.EINVALID, "store: auto-pay pages need a limit")
	}
	q := "SELECT " + invoiceColumns + " FROM invoices WHERE auto_pay = ? AND deleted = ? AND balance > 0" +
		" AND status NOT IN (?, ?, ?) AND crm_status NOT IN (?, ?) AND due_date IS NOT NULL AND due_date <= ? AND id > ?" +
		" ORDER BY id LIMIT ?"
	var rows []invoiceRow
	err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), true, false,
		stripesync.InvoicePaid, stripesync.InvoiceDraft, stripesync.InvoiceVoid,
		stripesync.InvoiceDraft, stripesync.InvoiceVoid, db.ts(dueBy), after, limit)
	if err != nil {
		return nil, wrap(err, "read the invoices due for auto-pay")
	}
	out := make([]stripesync.Invoice, len(rows))
	for i, r := range rows {
		out[i] = r.invoice()
	}
	return out, nil
}

// FailureByKey implements [stripesync.Failures].
func (db *DB) FailureByKey(ctx context.Context, key string) (stripesync.Failure, error) {
	var row failureRow
	err := db.x.GetContext(ctx, &row, db.x.Rebind("SELECT "+failureColumns+" FROM failures WHERE dedup_key = ?"), key)
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.Failure{}, stripesync.Errorf(stripesync.ENOTFOUND, "There is no failure %s", key)
	}
	return row.failure(), wrap(err, "read failure %s", key)
}
