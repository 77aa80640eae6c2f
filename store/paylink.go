package store

import (
	"context"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// issuedLinkRow is the issued payment link kept on an invoice's row.
type issuedLinkRow struct {
	ID        string `db:"id"`
	URL       string `db:"link_url"`
	IssuedAt  dbTime `db:"link_issued_at"`
	ExpiresAt dbTime `db:"link_expires_at"`
}

// issuedLinks reads the issued links of the invoices among ids that have
// one, keyed by invoice id.
func (db *DB) issuedLinks(ctx context.Context, q sqlx.QueryerContext, ids []string) (map[string]stripesync.IssuedLink, error) {
	out := map[string]stripesync.IssuedLink{}
	for start := 0; start < len(ids); start += idBatch {
		query, args, err := sqlx.In("SELECT id, link_url, link_issued_at, link_expires_at FROM invoices"+
			" WHERE id IN (?) AND link_issued_at IS NOT NULL", ids[start:min(start+idBatch, len(ids))])
		if err != nil {
			return nil, err
		}
		var rows []issuedLinkRow
		if err := sqlx.SelectContext(ctx, q, &rows, db.x.Rebind(query), args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.ID] = stripesync.IssuedLink{
				InvoiceID: r.ID, URL: r.URL, IssuedAt: time.Time(r.IssuedAt), ExpiresAt: time.Time(r.ExpiresAt),
			}
		}
	}
	return out, nil
}

// IssuedLinks returns the issued payment links of the invoices among ids
// that have one (a revocation included, with URL ""), keyed by invoice id.
func (db *DB) IssuedLinks(ctx context.Context, ids []string) (map[string]stripesync.IssuedLink, error) {
	links, err := db.issuedLinks(ctx, db.x, ids)
	return links, wrap(err, "read the payment links of %d invoices", len(ids))
}

// SavePaymentLinks stores each link as its invoice's issued link (a link
// with an empty URL records a revocation: Payment_Link__c is then kept
// clear) and, in the same transaction, enqueues a JobCRMInvoice for each
// invoice and the jobs given. An IssuedAt of zero means now. An unknown
// invoice is ENOTFOUND, a link without an invoice id EINVALID; nothing is
// stored then.
func (db *DB) SavePaymentLinks(ctx context.Context, links []stripesync.IssuedLink, jobs ...stripesync.Job) error {
	now := db.now()
	ids := make([]string, 0, len(links))
	for _, l := range links {
		if l.InvoiceID == "" {
			return stripesync.Errorf(stripesync.EINVALID, "store: payment link without an invoice id")
		}
		ids = append(ids, l.InvoiceID)
	}
	slices.Sort(ids)
	locks := make([]string, 0, len(ids))
	for _, id := range slices.Compact(ids) {
		locks = append(locks, invoiceLock(id))
	}
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		if err := db.lockNames(ctx, tx, locks...); err != nil {
			return err
		}
		const q = "UPDATE invoices SET link_url = ?, link_issued_at = ?, link_expires_at = ?, updated_at = ? WHERE id = ?"
		for _, l := range links {
			issued := l.IssuedAt
			if issued.IsZero() {
				issued = now
			}
			res, err := tx.ExecContext(ctx, tx.Rebind(q), l.URL, db.ts(issued), db.ts(l.ExpiresAt), db.ts(now), l.InvoiceID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return stripesync.Errorf(stripesync.ENOTFOUND, "store: invoice %s does not exist", l.InvoiceID)
			}
			if _, err := db.enqueue(ctx, tx, refJob(stripesync.JobCRMInvoice, l.InvoiceID, "")); err != nil {
				return err
			}
		}
		for _, j := range jobs {
			if _, err := db.enqueue(ctx, tx, j); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "save %d payment links", len(links))
}

// InvoicesWanting lists, among ids, the invoices that should get a
// payment link automatically at now, in id order: not deleted, Open or
// Partially Paid by the rollup (so neither Draft nor Void) with a balance
// due, and either with no Payment_Link__c
// and no link ever issued, or with an issued link that has expired by now
// and that the CRM shows or has lost. A revoked invoice (issued, URL "")
// gets none: staff cleared it on purpose.
func (db *DB) InvoicesWanting(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	var out []string
	for start := 0; start < len(ids); start += idBatch {
		query, args, err := sqlx.In("SELECT id FROM invoices WHERE id IN (?) AND deleted = ? AND balance > 0"+
			" AND status IN (?, ?)"+
			" AND ((link_issued_at IS NULL AND crm_payment_link = '')"+
			" OR (link_url <> '' AND link_expires_at <= ? AND crm_payment_link IN ('', link_url)))"+
			" ORDER BY id",
			ids[start:min(start+idBatch, len(ids))], false,
			string(stripesync.InvoiceOpen), string(stripesync.InvoicePartiallyPaid), db.ts(now))
		if err != nil {
			return nil, wrap(err, "find invoices without a payment link")
		}
		var chunk []string
		if err := db.x.SelectContext(ctx, &chunk, db.x.Rebind(query), args...); err != nil {
			return nil, wrap(err, "find invoices without a payment link")
		}
		out = append(out, chunk...)
	}
	return out, nil
}
