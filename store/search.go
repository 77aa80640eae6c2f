package store

import (
	"context"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

var _ stripesync.InvoiceSearch = (*DB)(nil)

// likeEscaper makes a query match literally in a LIKE pattern whose
// ESCAPE character is a backslash.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchInvoices implements [stripesync.InvoiceSearch].
//
// Both sides of a text match go through SQL's lower(), so that the query
// and the column are folded alike: on Postgres that folds every letter, on
// SQLite only A-Z ("ÉCOLE" finds "École" on Postgres, not on SQLite).
//
// A 15-character query matches the first 15 characters of an 18-character
// id: the CRM stores the 18-character form, whose last 3 characters only
// encode the case of the first 15, so the two are the same id. Compared
// with "=", the 15 characters keep their case, as Salesforce requires.
//
// No index serves a "contains", so a search reads every invoice of the
// business: the table is small per business, and none is added until one
// is not.
func (db *DB) SearchInvoices(ctx context.Context, query string, limit int) ([]stripesync.InvoiceMatch, error) {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil, stripesync.Errorf(stripesync.EINVALID, "Enter an invoice number, an account name or a Salesforce id to search for")
	}
	if limit < 1 {
		return nil, stripesync.Errorf(stripesync.EINVALID, "A search must ask for at least one invoice, not %d", limit)
	}
	ids, idArgs := "i.id = ? OR i.account_id = ?", []any{query, query}
	if len(query) == 15 {
		ids += " OR (length(i.id) = 18 AND substr(i.id, 1, 15) = ?) OR (length(i.account_id) = 18 AND substr(i.account_id, 1, 15) = ?)"
		idArgs = append(idArgs, query, query)
	}
	pattern := "%" + likeEscaper.Replace(query) + "%"
	q := "SELECT i.id, i.number, i.account_id, COALESCE(c.name, '') AS account_name, i.total_amount, i.currency," +
		" i.balance, i.status, i.due_date" +
		" FROM invoices i LEFT JOIN account_contacts c ON c.id = i.account_id" +
		` WHERE NOT i.deleted AND (lower(i.number) LIKE lower(?) ESCAPE '\' OR lower(c.name) LIKE lower(?) ESCAPE '\' OR ` + ids + ")" +
		" ORDER BY CASE WHEN lower(i.number) = lower(?) OR " + ids + " THEN 0 ELSE 1 END," +
		" i.due_date DESC NULLS LAST, i.number, i.id LIMIT ?"
	args := append([]any{pattern, pattern}, idArgs...)
	args = append(args, query)
	args = append(args, idArgs...)
	args = append(args, limit)
	var rows []struct {
		ID          string `db:"id"`
		Number      string `db:"number"`
		AccountID   string `db:"account_id"`
		AccountName string `db:"account_name"`
		TotalAmount int64  `db:"total_amount"`
		Currency    string `db:"currency"`
		Balance     int64  `db:"balance"`
		Status      string `db:"status"`
		DueDate     dbTime `db:"due_date"`
	}
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), args...); err != nil {
		return nil, wrap(err, "search invoices")
	}
	matches := make([]stripesync.InvoiceMatch, len(rows))
	for i, r := range rows {
		matches[i] = stripesync.InvoiceMatch{
			ID: r.ID, Number: r.Number, AccountID: r.AccountID, AccountName: r.AccountName,
			Total:   stripesync.Money{Amount: r.TotalAmount, Currency: r.Currency},
			Balance: stripesync.Money{Amount: r.Balance, Currency: r.Currency},
			Status:  stripesync.InvoiceStatus(r.Status),
			DueDate: time.Time(r.DueDate),
		}
	}
	return matches, nil
}
