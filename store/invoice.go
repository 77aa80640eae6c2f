package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

const invoiceColumns = "id, number, account_id, total_amount, currency, due_date, auto_pay, crm_status, crm_amount_paid," +
	" crm_payment_link, modstamp, deleted, paid, pending, balance, credit, status, mismatched, updated_at"

type invoiceRow struct {
	ID            string `db:"id"`
	Number        string `db:"number"`
	AccountID     string `db:"account_id"`
	TotalAmount   int64  `db:"total_amount"`
	Currency      string `db:"currency"`
	DueDate       dbTime `db:"due_date"`
	AutoPay       bool   `db:"auto_pay"`
	CRMStatus     string `db:"crm_status"`
	CRMAmountPaid int64  `db:"crm_amount_paid"`
	CRMLink       string `db:"crm_payment_link"`
	ModStamp      dbTime `db:"modstamp"`
	Deleted       bool   `db:"deleted"`
	Paid          int64  `db:"paid"`
	Pending       int64  `db:"pending"`
	Balance       int64  `db:"balance"`
	Credit        int64  `db:"credit"`
	Status        string `db:"status"`
	Mismatched    int    `db:"mismatched"`
	UpdatedAt     dbTime `db:"updated_at"`
}

func (r invoiceRow) invoice() stripesync.Invoice {
	return stripesync.Invoice{
		ID:          r.ID,
		Number:      r.Number,
		AccountID:   r.AccountID,
		Total:       stripesync.Money{Amount: r.TotalAmount, Currency: r.Currency},
		DueDate:     time.Time(r.DueDate),
		AutoPay:     r.AutoPay,
		Status:      stripesync.InvoiceStatus(r.CRMStatus),
		AmountPaid:  stripesync.Money{Amount: r.CRMAmountPaid, Currency: r.Currency},
		PaymentLink: r.CRMLink,
		ModStamp:    time.Time(r.ModStamp),
		Deleted:     r.Deleted,
	}
}

// rollup is the stored rollup, without Mismatched, which lists payment ids
// and is read from the payments when Mismatched counts any.
func (r invoiceRow) rollup() stripesync.Rollup {
	m := func(a int64) stripesync.Money { return stripesync.Money{Amount: a, Currency: r.Currency} }
	return stripesync.Rollup{
		Paid:    m(r.Paid),
		Pending: m(r.Pending),
		Balance: m(r.Balance),
		Credit:  m(r.Credit),
		Status:  stripesync.InvoiceStatus(r.Status),
	}
}

// jobRef is the payload of the CRM write-back and receipt jobs.
type jobRef struct {
	ID string `json:"id"`
}

func refJob(kind, id, key string) stripesync.Job {
	payload, _ := json.Marshal(jobRef{ID: id}) // a struct of one string cannot fail
	return stripesync.Job{Kind: kind, Key: key, Payload: payload}
}

// normalizeInvoice validates inv as SaveInvoices stores it: a currency in
// upper case, AmountPaid in that currency, an empty Status read as Open,
// times in UTC truncated to the microsecond.
func normalizeInvoice(inv stripesync.Invoice) (stripesync.Invoice, error) {
	if inv.ID == "" {
		return inv, stripesync.Errorf(stripesync.EINVALID, "store: invoice has no id")
	}
	cur, err := stripesync.NormalizeCurrency(inv.Total.Currency)
	if err != nil {
		return inv, stripesync.WrapError(stripesync.EINVALID, err, "store: invoice %s", inv.ID)
	}
	inv.Total.Currency = cur
	if c := inv.AmountPaid.Currency; c != "" {
		if paid, err := stripesync.NormalizeCurrency(c); err != nil || paid != cur {
			return inv, stripesync.Errorf(stripesync.EINVALID, "store: invoice %s: amount paid is in %q, the invoice in %s", inv.ID, c, cur)
		}
	}
	inv.AmountPaid.Currency = cur
	status, err := stripesync.ParseInvoiceStatus(string(inv.Status))
	if err != nil {
		return inv, stripesync.WrapError(stripesync.EINVALID, err, "store: invoice %s", inv.ID)
	}
	inv.Status = status
	inv.DueDate, inv.ModStamp = utc(inv.DueDate), utc(inv.ModStamp)
	return inv, nil
}

// utc is t as the store gives it back: UTC, truncated to the microsecond,
// zero kept zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// SaveInvoices upserts invoices read from the CRM, in one transaction, and
// recomputes each one's rollup over the payments already in the ledger
// (payments may arrive before their invoice). For each invoice that is not
// deleted it enqueues, in the same transaction, a JobCRMInvoice when the
// rollup's Paid or Status differs from what the CRM holds (AmountPaid,
// Status), and a JobCRMPayment for every payment of an invoice the ledger
// did not know before (or knew as deleted), so that Payment__c gets its
// Invoice__c lookup.
//
// An invoice older than the stored one (both ModStamps set, the new one
// earlier) is a stale read and is skipped. A deleted invoice is kept,
// marked deleted, and never written back to the CRM. An empty Status means
// Open; AmountPaid is in the invoice's currency. An invoice without an ID
// or with a bad currency or status is EINVALID and nothing is saved.
func (db *DB) SaveInvoices(ctx context.Context, invoices []stripesync.Invoice) error {
	if len(invoices) == 0 {
		return nil
	}
	invs := make([]stripesync.Invoice, len(invoices))
	ids := make([]string, len(invoices))
	for i, inv := range invoices {
		var err error
		if invs[i], err = normalizeInvoice(inv); err != nil {
			return err
		}
		ids[i] = inv.ID
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	now := db.now()
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		locks := make([]string, len(ids))
		for i, id := range ids {
			locks[i] = invoiceLock(id)
		}
		if err := db.lockNames(ctx, tx, locks...); err != nil {
			return err
		}
		known, err := db.invoicesTx(ctx, tx, ids)
		if err != nil {
			return err
		}
		payments, err := db.paymentsOfInvoices(ctx, tx, ids)
		if err != nil {
			return err
		}
		issued, err := db.issuedLinks(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, inv := range invs {
			old, existed := known[inv.ID]
			if existed && !inv.ModStamp.IsZero() && inv.ModStamp.Before(old.ModStamp) {
				continue
			}
			r := stripesync.RollUp(inv, payments[inv.ID])
			if err := db.upsertInvoice(ctx, tx, inv, r, now); err != nil {
				return err
			}
			known[inv.ID] = inv
			if inv.Deleted {
				continue
			}
			if !existed || old.Deleted {
				for _, p := range payments[inv.ID] {
					if _, err := db.enqueue(ctx, tx, refJob(stripesync.JobCRMPayment, p.ID, "")); err != nil {
						return err
					}
				}
			}
			_, relink := stripesync.LinkWrite(inv, r, issued[inv.ID])
			if r.Paid.Amount != inv.AmountPaid.Amount || r.Status != inv.Status || relink {
				if _, err := db.enqueue(ctx, tx, refJob(stripesync.JobCRMInvoice, inv.ID, "")); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return wrap(err, "save %d invoices", len(invoices))
}

// invoiceLock names the lock that serialises the transactions computing
// invoice id's rollup (see lockNames).
func invoiceLock(id string) string { return "invoice:" + id }

// invoicesTx reads the stored invoices among ids, keyed by id.
func (db *DB) invoicesTx(ctx context.Context, tx *sqlx.Tx, ids []string) (map[string]stripesync.Invoice, error) {
	known := make(map[string]stripesync.Invoice, len(ids))
	for start := 0; start < len(ids); start += idBatch {
		q, args, err := sqlx.In("SELECT "+invoiceColumns+" FROM invoices WHERE id IN (?)", ids[start:min(start+idBatch, len(ids))])
		if err != nil {
			return nil, err
		}
		var rows []invoiceRow
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			known[r.ID] = r.invoice()
		}
	}
	return known, nil
}

// upsertInvoice stores inv with its rollup r.
func (db *DB) upsertInvoice(ctx context.Context, tx *sqlx.Tx, inv stripesync.Invoice, r stripesync.Rollup, now time.Time) error {
	const q = "INSERT INTO invoices (" + invoiceColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
		" ON CONFLICT (id) DO UPDATE SET number = excluded.number, account_id = excluded.account_id," +
		" total_amount = excluded.total_amount, currency = excluded.currency, due_date = excluded.due_date," +
		" auto_pay = excluded.auto_pay, crm_status = excluded.crm_status, crm_amount_paid = excluded.crm_amount_paid," +
		" crm_payment_link = excluded.crm_payment_link, modstamp = excluded.modstamp, deleted = excluded.deleted, paid = excluded.paid, pending = excluded.pending," +
		" balance = excluded.balance, credit = excluded.credit, status = excluded.status," +
		" mismatched = excluded.mismatched, updated_at = excluded.updated_at"
	_, err := tx.ExecContext(ctx, tx.Rebind(q),
		inv.ID, inv.Number, inv.AccountID, inv.Total.Amount, inv.Total.Currency, db.ts(inv.DueDate), inv.AutoPay,
		string(inv.Status), inv.AmountPaid.Amount, inv.PaymentLink, db.ts(inv.ModStamp), inv.Deleted,
		r.Paid.Amount, r.Pending.Amount, r.Balance.Amount, r.Credit.Amount, string(r.Status), len(r.Mismatched),
		db.ts(now))
	return err
}

// updateRollup stores r as the rollup of invoice id.
func (db *DB) updateRollup(ctx context.Context, tx *sqlx.Tx, id string, r stripesync.Rollup, now time.Time) error {
	const q = "UPDATE invoices SET paid = ?, pending = ?, balance = ?, credit = ?, status = ?, mismatched = ?, updated_at = ?" +
		" WHERE id = ?"
	_, err := tx.ExecContext(ctx, tx.Rebind(q),
		r.Paid.Amount, r.Pending.Amount, r.Balance.Amount, r.Credit.Amount, string(r.Status), len(r.Mismatched),
		db.ts(now), id)
	return err
}

// Invoice returns an invoice as last saved (AmountPaid in its currency,
// Deleted set if the CRM deleted it) and its stored rollup, whose
// Mismatched lists the payments in another currency, oldest first. An
// unknown id is ENOTFOUND.
func (db *DB) Invoice(ctx context.Context, id string) (stripesync.Invoice, stripesync.Rollup, error) {
	var row invoiceRow
	err := db.x.GetContext(ctx, &row, db.x.Rebind("SELECT "+invoiceColumns+" FROM invoices WHERE id = ?"), id)
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.Invoice{}, stripesync.Rollup{}, stripesync.Errorf(stripesync.ENOTFOUND, "store: invoice %s does not exist", id)
	}
	if err != nil {
		return stripesync.Invoice{}, stripesync.Rollup{}, wrap(err, "read invoice %s", id)
	}
	r := row.rollup()
	if row.Mismatched > 0 {
		const q = "SELECT id FROM payments WHERE invoice_id = ? AND currency <> ? ORDER BY created, id"
		if err := db.x.SelectContext(ctx, &r.Mismatched, db.x.Rebind(q), id, row.Currency); err != nil {
			return stripesync.Invoice{}, stripesync.Rollup{}, wrap(err, "read invoice %s", id)
		}
	}
	return row.invoice(), r, nil
}
