package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

type staffActionRow struct {
	ID        int64  `db:"id"`
	At        dbTime `db:"at"`
	Staff     string `db:"staff"`
	Action    string `db:"action"`
	InvoiceID string `db:"invoice_id"`
	PaymentID string `db:"payment_id"`
	Outcome   string `db:"outcome"`
	Detail    string `db:"detail"`
}

// RecordStaffAction implements [stripesync.StaffAudit].
func (db *DB) RecordStaffAction(ctx context.Context, a stripesync.StaffAction) error {
	if err := checkStaffAction(a); err != nil {
		return err
	}
	return wrap(db.insertStaffAction(ctx, db.x, a), "record staff action on invoice %s", a.InvoiceID)
}

// checkStaffAction refuses an action the trail could not show.
func checkStaffAction(a stripesync.StaffAction) error {
	if a.Staff == "" || a.Action == "" || a.InvoiceID == "" || a.Outcome == "" || a.At.IsZero() {
		return stripesync.Errorf(stripesync.EINVALID, "store: a staff action needs its time, staff member, action, invoice and outcome")
	}
	return nil
}

// insertStaffAction appends a, checked, to the trail through ex (the
// database, or the transaction of what a records).
func (db *DB) insertStaffAction(ctx context.Context, ex sqlx.ExtContext, a stripesync.StaffAction) error {
	const q = "INSERT INTO staff_actions (at, staff, action, invoice_id, payment_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
	_, err := ex.ExecContext(ctx, ex.Rebind(q), db.ts(a.At), a.Staff, a.Action, a.InvoiceID, a.PaymentID, a.Outcome, a.Detail)
	return err
}

// StaffActions implements [stripesync.StaffAudit].
func (db *DB) StaffActions(ctx context.Context, invoiceID string) ([]stripesync.StaffAction, error) {
	var rows []staffActionRow
	const q = "SELECT id, at, staff, action, invoice_id, payment_id, outcome, detail FROM staff_actions WHERE invoice_id = ? ORDER BY id"
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), invoiceID); err != nil {
		return nil, wrap(err, "staff actions of invoice %s", invoiceID)
	}
	out := make([]stripesync.StaffAction, len(rows))
	for i, r := range rows {
		out[i] = stripesync.StaffAction{
			ID: r.ID, At: time.Time(r.At), Staff: r.Staff, Action: r.Action, InvoiceID: r.InvoiceID,
			PaymentID: r.PaymentID, Outcome: r.Outcome, Detail: r.Detail,
		}
	}
	return out, nil
}
