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
	return convertAll(c.QueryAll(ctx, c.accountsSOQL(since)), c.accountFrom)
}

// Account reads one account as it is now, with the fields Accounts reads.
// It asks queryAll by Id rather than GET /sobjects, so that a deleted
// account (still in the recycle bin) is returned with Deleted set in the
// same single call; one that does not exist, or was purged, is ENOTFOUND.
// A malformed id is EINVALID and costs no call.
func (c *Client) Account(ctx context.Context, id string) (stripesync.Account, error) {
	r, err := c.recordByID(ctx, c.cfg.Mapping.Account.Object, c.accountFields(), id)
	if err != nil {
		return stripesync.Account{}, err
	}
	return c.accountFrom(r)
}

// accountFields lists the Account fields Accounts selects, in order: the
// pushed ones, the currency, then the customer id (the customer an
// Existing account binds to, and the binding the CRM shows) and the sync
// error; optional fields mapped to "" are left out.
func (c *Client) accountFields() []string {
	m := c.cfg.Mapping.Account
	return selectList(append(m.Pushed(), m.Currency, m.StripeCustomerID, m.SyncError)...)
}

func (c *Client) accountsSOQL(since time.Time) string {
	return changedSOQL(c.cfg.Mapping.Account.Object, c.accountFields(), since)
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
