package crm

import (
	"context"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// The typed reads (Accounts, Account, Invoices, Invoice) share one shape
// of SELECT per object, so a stream and a single read of the same object
// can never disagree on fields or conversion.

// selectList is Id, the given fields that are mapped (optional fields
// mapped to "" are left out), then SystemModstamp and IsDeleted.
func selectList(fields ...string) []string {
	return slices.Concat([]string{"Id"}, mapped(fields...), []string{"SystemModstamp", "IsDeleted"})
}

// changedSOQL selects the records of object stamped at or after since
// (every record when since is zero), oldest first, ties in Id order.
func changedSOQL(object string, fields []string, since time.Time) string {
	var sb strings.Builder
	sb.WriteString("SELECT ")
	sb.WriteString(strings.Join(fields, ", "))
	sb.WriteString(" FROM ")
	sb.WriteString(object)
	if !since.IsZero() {
		sb.WriteString(" WHERE SystemModstamp >= ")
		sb.WriteString(soqlDateTime(since))
	}
	sb.WriteString(" ORDER BY SystemModstamp ASC, Id ASC")
	return sb.String()
}

// convertAll converts a record stream. Iteration stops at the first query
// or conversion error, which is yielded with a zero T.
func convertAll[T any](records iter.Seq2[Record, error], convert func(Record) (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for r, err := range records {
			if err != nil {
				yield(zero, err)
				return
			}
			v, err := convert(r)
			if err != nil {
				yield(zero, err)
				return
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

// recordByID reads one record through queryAll, deleted or not:
// ENOTFOUND when there is none, EINVALID for a malformed id (before any
// call, since the id becomes a SOQL literal).
func (c *Client) recordByID(ctx context.Context, object string, fields []string, id string) (Record, error) {
	if !validID(id) {
		return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce read %s: malformed id %q", object, id)
	}
	soql := "SELECT " + strings.Join(fields, ", ") + " FROM " + object + " WHERE Id = '" + id + "'"
	for r, err := range c.QueryAll(ctx, soql) {
		return r, err // Ids are unique: the first row is the only one
	}
	return nil, stripesync.Errorf(stripesync.ENOTFOUND, "salesforce read %s: no record %s", object, id)
}

// validID accepts a 15- or 18-character Salesforce id.
func validID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for i := range len(id) {
		if c := id[i]; !isLetter(c) && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
