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

// verificationRow is a row of bank_verifications.
type verificationRow struct {
	PaymentMethodID string `db:"payment_method_id"`
	PaymentIntentID string `db:"payment_intent_id"`
	InvoiceID       string `db:"invoice_id"`
	Created         dbTime `db:"created"`
}

func (r verificationRow) verification() stripesync.PendingVerification {
	return stripesync.PendingVerification{
		PaymentMethodID: r.PaymentMethodID, PaymentIntentID: r.PaymentIntentID,
		InvoiceID: r.InvoiceID, Created: time.Time(r.Created),
	}
}

// PendingVerification implements [stripesync.CollectionLedger].
func (db *DB) PendingVerification(ctx context.Context, paymentMethodID string) (stripesync.PendingVerification, error) {
	var row verificationRow
	const q = "SELECT payment_method_id, payment_intent_id, invoice_id, created FROM bank_verifications WHERE payment_method_id = ?"
	err := db.x.GetContext(ctx, &row, db.x.Rebind(q), paymentMethodID)
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.PendingVerification{}, stripesync.Errorf(stripesync.ENOTFOUND,
			"No payment taken by staff is waiting for bank account %s to be verified", paymentMethodID)
	}
	if err != nil {
		return stripesync.PendingVerification{}, wrap(err, "read pending verification of %s", paymentMethodID)
	}
	return row.verification(), nil
}

// PendingVerifications lists the bank payments of an invoice that still wait for their micro-deposits, oldest first
// (by the time staff took them, then by payment method), so that the staff
// console can offer to verify each. A row of bank_verifications stays after
// its account is verified, so the payment's own status decides: only those
// the ledger holds as Awaiting Verification are listed, not those that went
// on to Processing, Succeeded or Failed. The join with payments is an inner
// one because a row never precedes its payment: staff's bank payment
// (sync's staffBankPay) writes the row only after RecordPayment stored the
// payment as awaiting verification, and not at all when recording failed.
// A payment replaced by a newer one from the same account (the row is
// keyed by the account) is no longer listed: staff verify the account for
// the newer one. None is an empty result; an empty invoiceID is EINVALID.
func (db *DB) PendingVerifications(ctx context.Context, invoiceID string) ([]stripesync.PendingVerification, error) {
	if invoiceID == "" {
		return nil, stripesync.Errorf(stripesync.EINVALID, "store: list pending verifications: no invoice id")
	}
	const q = "SELECT v.payment_method_id, v.payment_intent_id, v.invoice_id, v.created" +
		" FROM bank_verifications v JOIN payments p ON p.id = v.payment_intent_id" +
		" WHERE v.invoice_id = ? AND p.status = ? ORDER BY v.created, v.payment_method_id"
	var rows []verificationRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), invoiceID, string(stripesync.PaymentAwaitingVerification)); err != nil {
		return nil, wrap(err, "list pending verifications of invoice %s", invoiceID)
	}
	out := make([]stripesync.PendingVerification, len(rows))
	for i, r := range rows {
		out[i] = r.verification()
	}
	return out, nil
}
