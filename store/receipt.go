package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// SaveAccountContacts stores the Name and Email of accounts as the CRM
// gave them (the push calls it for every account it reads), in one
// transaction, so that receipts are rendered from the ledger alone. A read
// older than the stored one (both ModStamps set, the new one earlier) is
// skipped, so a slow push cannot undo a newer one. An account without an
// ID is EINVALID and nothing is saved.
func (db *DB) SaveAccountContacts(ctx context.Context, accounts []stripesync.Account) error {
	for _, a := range accounts {
		if a.ID == "" {
			return stripesync.Errorf(stripesync.EINVALID, "store: account has no id")
		}
	}
	if len(accounts) == 0 {
		return nil
	}
	// One statement per account: a multi-row upsert may not touch one row
	// twice on Postgres, and a batch can hold an account twice.
	const q = "INSERT INTO account_contacts (id, name, email, modstamp, updated_at) VALUES (?, ?, ?, ?, ?)" +
		" ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email," +
		" modstamp = excluded.modstamp, updated_at = excluded.updated_at" +
		" WHERE account_contacts.modstamp IS NULL OR excluded.modstamp IS NULL OR excluded.modstamp >= account_contacts.modstamp"
	now := db.ts(db.now())
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		for _, a := range accounts {
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), a.ID, a.Name, a.Email, db.ts(a.ModStamp), now); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "save %d account contacts", len(accounts))
}

// AccountContact returns the ID, Name and Email of account id as last
// saved by SaveAccountContacts (the other fields are zero); ENOTFOUND if
// none was.
func (db *DB) AccountContact(ctx context.Context, id string) (stripesync.Account, error) {
	var row struct {
		Name  string `db:"name"`
		Email string `db:"email"`
	}
	err := db.x.GetContext(ctx, &row, db.x.Rebind("SELECT name, email FROM account_contacts WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.Account{}, stripesync.Errorf(stripesync.ENOTFOUND, "store: no contact of account %s", id)
	}
	if err != nil {
		return stripesync.Account{}, wrap(err, "read contact of account %s", id)
	}
	return stripesync.Account{ID: id, Name: row.Name, Email: row.Email}, nil
}

// receiptSending selects the receipt mails whose SMTP conversation has
// started and not been recorded as ended: the predicate of the partial
// index receipt_mails_sending_idx, which ReclaimDead reads.
const receiptSending = "sent_at IS NULL AND sending_at IS NOT NULL"

// StartReceiptMail records now as the start of the SMTP conversation that
// mails the receipt of payment paymentID, and returns ok, unless the
// receipt was mailed already (SentAt set) or a conversation started less
// than lease ago (SendingAt within the lease: another worker may still be
// in it, or died in it moments ago). The check and the record are one
// statement, so two workers never both get ok. mail is the state found
// before, which tells a caller that did not get ok which case it is.
func (db *DB) StartReceiptMail(ctx context.Context, paymentID string, lease time.Duration) (mail stripesync.ReceiptMail, ok bool, err error) {
	if paymentID == "" || lease <= 0 {
		return mail, false, stripesync.Errorf(stripesync.EINVALID, "store: start receipt mail needs a payment id and a positive lease (got %q, %s)", paymentID, lease)
	}
	now := db.now()
	err = db.transact(ctx, func(tx *sqlx.Tx) error {
		var rows []struct {
			SendingAt dbTime `db:"sending_at"`
			SentAt    dbTime `db:"sent_at"`
		}
		q := "SELECT sending_at, sent_at FROM receipt_mails WHERE payment_id = ?" + db.forUpdate()
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), paymentID); err != nil {
			return err
		}
		if len(rows) > 0 {
			mail = stripesync.ReceiptMail{SendingAt: time.Time(rows[0].SendingAt), SentAt: time.Time(rows[0].SentAt)}
		}
		const upsert = "INSERT INTO receipt_mails (payment_id, sending_at, claimed_by) VALUES (?, ?, ?)" +
			" ON CONFLICT (payment_id) DO UPDATE SET sending_at = excluded.sending_at, claimed_by = excluded.claimed_by" +
			" WHERE receipt_mails.sent_at IS NULL AND (receipt_mails.sending_at IS NULL OR receipt_mails.sending_at <= ?)"
		res, err := tx.ExecContext(ctx, tx.Rebind(upsert), paymentID, db.ts(now), db.claimedBy(), db.ts(now.Add(-lease)))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	if err != nil {
		return stripesync.ReceiptMail{}, false, wrap(err, "start receipt mail of %s", paymentID)
	}
	return mail, ok, nil
}

// FinishReceiptMail records how the conversation StartReceiptMail started
// ended: sent sets SentAt to now, for good; not sent clears SendingAt, so
// that the next attempt need not wait out the lease (the process saw the
// conversation end; it did not die in it). A receipt already marked sent,
// or never started, is left as it is.
func (db *DB) FinishReceiptMail(ctx context.Context, paymentID string, sent bool) error {
	q, args := "UPDATE receipt_mails SET sent_at = ?, claimed_by = NULL WHERE payment_id = ? AND sent_at IS NULL", []any{db.ts(db.now()), paymentID}
	if !sent {
		q, args = "UPDATE receipt_mails SET sending_at = NULL, claimed_by = NULL WHERE payment_id = ? AND sent_at IS NULL", []any{paymentID}
	}
	_, err := db.x.ExecContext(ctx, db.x.Rebind(q), args...)
	return wrap(err, "finish receipt mail of %s", paymentID)
}
