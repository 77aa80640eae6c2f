package crm

import (
	"context"
	"iter"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// syncErrorMax is the length Stripe_Sync_Error__c is cut to: a Text(255)
// field rejects longer values (STRING_TOO_LONG), which would lose the
// whole write-back.
const syncErrorMax = 255

// Accounts streams the accounts whose SystemModstamp is at or after since,
// oldest first (SystemModstamp, then Id), deleted ones included, through
// queryAll:
//
//	SELECT <mapped fields> FROM Account
//	WHERE SystemModstamp >= 2024-05-01T12:34:56Z ORDER BY SystemModstamp ASC, Id ASC
//
// since is truncated to the second (the literal has no fraction), so with
// >= nothing stamped in that second is skipped; the caller dedupes on
// (ID, ModStamp). A zero since reads every account. Pages are fetched as
// the caller iterates.
//
// An unknown Stripe_Mapping__c value is not an iteration error: the
// account is yielded with Policy "" so that the caller can record a
// failure for that account alone and go on. The currency is upper-cased.
func (c *Client) Accounts(ctx context.Context, since time.Time) iter.Seq2[stripesync.Account, error] {
	soql := c.accountsSOQL(since)
	return func(yield func(stripesync.Account, error) bool) {
		for r, err := range c.QueryAll(ctx, soql) {
			if err != nil {
				yield(stripesync.Account{}, err)
				return
			}
			a, err := c.accountFrom(r)
			if err != nil {
				yield(stripesync.Account{}, err)
				return
			}
			if !yield(a, nil) {
				return
			}
		}
	}
}

// accountFields lists the Account fields Accounts selects, in order;
// optional fields mapped to "" are left out.
func (c *Client) accountFields() []string {
	m := c.cfg.Mapping.Account
	fields := []string{"Id"}
	for _, f := range []string{m.Name, m.Phone, m.Email, m.Street, m.City, m.State, m.PostalCode,
		m.Country, m.Currency, m.Policy, m.StripeCustomerID, m.SyncError} {
		if f != "" {
			fields = append(fields, f)
		}
	}
	return append(fields, "SystemModstamp", "IsDeleted")
}

func (c *Client) accountsSOQL(since time.Time) string {
	var sb strings.Builder
	sb.WriteString("SELECT ")
	sb.WriteString(strings.Join(c.accountFields(), ", "))
	sb.WriteString(" FROM ")
	sb.WriteString(c.cfg.Mapping.Account.Object)
	if !since.IsZero() {
		sb.WriteString(" WHERE SystemModstamp >= ")
		sb.WriteString(soqlDateTime(since))
	}
	sb.WriteString(" ORDER BY SystemModstamp ASC, Id ASC")
	return sb.String()
}

// accountFrom converts a queried record. A field mapped to "" reads as "".
func (c *Client) accountFrom(r Record) (stripesync.Account, error) {
	m := c.cfg.Mapping.Account
	get := func(field string) string {
		if field == "" {
			return ""
		}
		return strings.TrimSpace(r.String(field))
	}
	stamp, err := r.Time("SystemModstamp")
	if err != nil {
		return stripesync.Account{}, err
	}
	a := stripesync.Account{
		ID:    get("Id"),
		Name:  get(m.Name),
		Phone: get(m.Phone),
		Email: get(m.Email),
		Address: stripesync.Address{
			Line1:      get(m.Street),
			City:       get(m.City),
			State:      get(m.State),
			PostalCode: get(m.PostalCode),
			Country:    get(m.Country),
		},
		Currency:         strings.ToUpper(get(m.Currency)),
		StripeCustomerID: get(m.StripeCustomerID),
		SyncError:        get(m.SyncError),
		ModStamp:         stamp,
		Deleted:          r.Bool("IsDeleted"),
	}
	if p, err := stripesync.ParsePolicy(get(m.Policy)); err == nil {
		a.Policy = p
	}
	if a.ID == "" {
		return stripesync.Account{}, stripesync.Errorf(stripesync.EINVALID, "salesforce query %s: record without Id", m.Object)
	}
	return a, nil
}

// WriteAccountSync writes push results back to the accounts through
// UpdateRecords (200 per call, allOrNone false): the Stripe customer id
// and sync time when set, and the sync error, where "" sends null to clear
// it. Errors longer than 255 characters are cut to fit the field.
// perRecord and err follow stripesync.CRM.
func (c *Client) WriteAccountSync(ctx context.Context, updates []stripesync.AccountSyncUpdate) (perRecord []error, err error) {
	m := c.cfg.Mapping.Account
	records := make([]Record, len(updates))
	for i, u := range updates {
		r := Record{"Id": u.AccountID}
		if u.StripeCustomerID != "" {
			r[m.StripeCustomerID] = u.StripeCustomerID
		}
		if !u.SyncedAt.IsZero() {
			r[m.SyncedAt] = sfDateTime(u.SyncedAt)
		}
		if u.SyncError == "" {
			r[m.SyncError] = nil
		} else {
			r[m.SyncError] = truncateRunes(u.SyncError, syncErrorMax)
		}
		records[i] = r
	}
	return c.UpdateRecords(ctx, m.Object, records)
}

func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
