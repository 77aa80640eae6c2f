package store

import (
	"context"
	"iter"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// The ledger's reads for `stripesync reconcile`.

// reconcileLinkPage is how many links one BoundLinks query reads.
const reconcileLinkPage = 500

// InvoiceRollups returns the stored rollups of the invoices among ids
// that the ledger knows and the CRM has not deleted, by id, in one query
// per idBatch ids. Mismatched is not filled in.
func (db *DB) InvoiceRollups(ctx context.Context, ids []string) (map[string]stripesync.Rollup, error) {
	out := make(map[string]stripesync.Rollup, len(ids))
	for start := 0; start < len(ids); start += idBatch {
		q, args, err := sqlx.In("SELECT "+invoiceColumns+" FROM invoices WHERE deleted = ? AND id IN (?)", false, ids[start:min(start+idBatch, len(ids))])
		if err != nil {
			return nil, wrap(err, "read invoice rollups")
		}
		var rows []invoiceRow
		if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), args...); err != nil {
			return nil, wrap(err, "read invoice rollups")
		}
		for _, r := range rows {
			out[r.ID] = r.rollup()
		}
	}
	return out, nil
}

// BoundLinks streams the bound account links in CRM id order, a page of
// reconcileLinkPage at a time (keyset paging, so memory stays flat however
// many links there are). The first error is yielded and ends the stream.
func (db *DB) BoundLinks(ctx context.Context) iter.Seq2[stripesync.AccountLink, error] {
	return func(yield func(stripesync.AccountLink, error) bool) {
		q := db.x.Rebind("SELECT " + linkColumns + " FROM account_links WHERE state = ? AND crm_id > ? ORDER BY crm_id LIMIT ?")
		after := ""
		for {
			var rows []linkRow
			if err := db.x.SelectContext(ctx, &rows, q, string(stripesync.LinkBound), after, reconcileLinkPage); err != nil {
				yield(stripesync.AccountLink{}, wrap(err, "read bound account links"))
				return
			}
			for _, r := range rows {
				if !yield(r.link(), nil) {
					return
				}
			}
			if len(rows) < reconcileLinkPage {
				return
			}
			after = rows[len(rows)-1].CRMID
		}
	}
}

// SharedCustomerLinks returns the bound links whose Stripe customer is
// also the customer of another bound link, ordered by customer then CRM id.
func (db *DB) SharedCustomerLinks(ctx context.Context) ([]stripesync.AccountLink, error) {
	q := db.x.Rebind("SELECT " + linkColumns + " FROM account_links WHERE state = ? AND stripe_id IN" +
		" (SELECT stripe_id FROM account_links WHERE state = ? AND stripe_id <> '' GROUP BY stripe_id HAVING COUNT(*) > 1)" +
		" ORDER BY stripe_id, crm_id")
	var rows []linkRow
	bound := string(stripesync.LinkBound)
	if err := db.x.SelectContext(ctx, &rows, q, bound, bound); err != nil {
		return nil, wrap(err, "read shared account links")
	}
	links := make([]stripesync.AccountLink, len(rows))
	for i, r := range rows {
		links[i] = r.link()
	}
	return links, nil
}
