package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stripesync/stripesync"
)

// AwaitVerification implements [stripesync.CollectionLedger].
func (db *DB) AwaitVerification(ctx context.Context, v stripesync.PendingVerification) error {
	if v.PaymentMethodID == "" || v.PaymentIntentID == "" || v.InvoiceID == "" || v.Created.IsZero() {
		return stripesync.Errorf(stripesync.EINVALID, "store: a pending verification needs its payment method, PaymentIntent, invoice and time")
	}
	const q = "INSERT INTO bank_verifications (payment_method_id, payment_intent_id, invoice_id, created) VALUES (?, ?, ?, ?)" +
		" ON CONFLICT (payment_method_id) DO UPDATE SET payment_intent_id = excluded.payment_intent_id," +
		" invoice_id = excluded.invoice_id, created = excluded.created"
	_, err := db.x.ExecContext(ctx, db.x.Rebind(q), v.PaymentMethodID, v.PaymentIntentID, v.InvoiceID, db.ts(v.Created))
	return wrap(err, "record pending verification of %s", v.PaymentMethodID)
}

// PendingVerification implements [stripesync.CollectionLedger].
func (db *DB) PendingVerification(ctx context.Context, paymentMethodID string) (stripesync.PendingVerification, error) {
	var row struct {
		PaymentMethodID string `db:"payment_method_id"`
		PaymentIntentID string `db:"payment_intent_id"`
		InvoiceID       string `db:"invoice_id"`
		Created         dbTime `db:"created"`
	}
	const q = "SELECT payment_method_id, payment_intent_id, invoice_id, created FROM bank_verifications WHERE payment_method_id = ?"
	err := db.x.GetContext(ctx, &row, db.x.Rebind(q), paymentMethodID)
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.PendingVerification{}, stripesync.Errorf(stripesync.ENOTFOUND,
			"No payment taken by staff is waiting for bank account %s to be verified", paymentMethodID)
	}
	if err != nil {
		return stripesync.PendingVerification{}, wrap(err, "read pending verification of %s", paymentMethodID)
	}
	return stripesync.PendingVerification{
		PaymentMethodID: row.PaymentMethodID, PaymentIntentID: row.PaymentIntentID,
		InvoiceID: row.InvoiceID, Created: time.Time(row.Created),
	}, nil
}
