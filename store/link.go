package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// idBatch bounds the ids bound in one "IN (…)" query, well under both
// dialects' limits on bound parameters.
const idBatch = 500

const linkColumns = "crm_id, stripe_id, policy, state, hash, version, write_attempt, last_error, synced_at, updated_at"

type linkRow struct {
	CRMID        string `db:"crm_id"`
	StripeID     string `db:"stripe_id"`
	Policy       string `db:"policy"`
	State        string `db:"state"`
	Hash         string `db:"hash"`
	Version      int64  `db:"version"`
	WriteAttempt int64  `db:"write_attempt"`
	LastError    string `db:"last_error"`
	SyncedAt     dbTime `db:"synced_at"`
	UpdatedAt    dbTime `db:"updated_at"`
}

func (r linkRow) link() stripesync.AccountLink {
	return stripesync.AccountLink{
		CRMID:        r.CRMID,
		StripeID:     r.StripeID,
		Policy:       stripesync.Policy(r.Policy),
		State:        stripesync.LinkState(r.State),
		Hash:         r.Hash,
		Version:      r.Version,
		WriteAttempt: r.WriteAttempt,
		LastError:    r.LastError,
		SyncedAt:     time.Time(r.SyncedAt),
		UpdatedAt:    time.Time(r.UpdatedAt),
	}
}

// linkStates lists every LinkState, so that CountAccountLinks reports a zero
// for a state no link is in and SaveAccountLink refuses unknown ones.
var linkStates = []stripesync.LinkState{
	stripesync.LinkPending, stripesync.LinkBound, stripesync.LinkFailed,
	stripesync.LinkIgnored, stripesync.LinkUnbound,
}

// AccountLinks returns the links of the given CRM ids that exist, keyed by
// CRM id. Ids without a link are absent from the map.
func (db *DB) AccountLinks(ctx context.Context, crmIDs []string) (map[string]stripesync.AccountLink, error) {
	links := make(map[string]stripesync.AccountLink, len(crmIDs))
	for start := 0; start < len(crmIDs); start += idBatch {
		batch := crmIDs[start:min(start+idBatch, len(crmIDs))]
		q, args, err := sqlx.In("SELECT "+linkColumns+" FROM account_links WHERE crm_id IN (?)", batch)
		if err != nil {
			return nil, wrap(err, "read account links")
		}
		var rows []linkRow
		if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), args...); err != nil {
			return nil, wrap(err, "read account links")
		}
		for _, r := range rows {
			links[r.CRMID] = r.link()
		}
	}
	return links, nil
}

// SaveAccountLink inserts or replaces the link of l.CRMID, every field as
// given (times truncated to the microsecond); a zero UpdatedAt is set to
// now. An empty CRMID or an unknown Policy or State is EINVALID.
func (db *DB) SaveAccountLink(ctx context.Context, l stripesync.AccountLink) error {
	if err := validateLink(l); err != nil {
		return err
	}
	if l.UpdatedAt.IsZero() {
		l.UpdatedAt = db.now()
	}
	const q = "INSERT INTO account_links (" + linkColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
		" ON CONFLICT (crm_id) DO UPDATE SET" +
		" stripe_id = excluded.stripe_id, policy = excluded.policy, state = excluded.state," +
		" hash = excluded.hash, version = excluded.version, write_attempt = excluded.write_attempt," +
		" last_error = excluded.last_error, synced_at = excluded.synced_at, updated_at = excluded.updated_at"
	_, err := db.x.ExecContext(ctx, db.x.Rebind(q),
		l.CRMID, l.StripeID, string(l.Policy), string(l.State), l.Hash, l.Version, l.WriteAttempt,
		l.LastError, db.ts(l.SyncedAt), db.ts(l.UpdatedAt))
	return wrap(err, "save account link %s", l.CRMID)
}

func validateLink(l stripesync.AccountLink) error {
	if l.CRMID == "" {
		return stripesync.Errorf(stripesync.EINVALID, "store: account link has no CRM id")
	}
	switch l.Policy {
	case stripesync.PolicyCreate, stripesync.PolicyExisting, stripesync.PolicyIgnore:
	default:
		return stripesync.Errorf(stripesync.EINVALID, "store: account link %s has unknown policy %q", l.CRMID, l.Policy)
	}
	for _, s := range linkStates {
		if l.State == s {
			return nil
		}
	}
	return stripesync.Errorf(stripesync.EINVALID, "store: account link %s has unknown state %q", l.CRMID, l.State)
}

// CountAccountLinks returns how many links are in each state, with an entry
// (possibly zero) for every known state, for metrics and the status page.
func (db *DB) CountAccountLinks(ctx context.Context) (map[stripesync.LinkState]int, error) {
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := db.x.SelectContext(ctx, &rows, "SELECT state, COUNT(*) AS n FROM account_links GROUP BY state"); err != nil {
		return nil, wrap(err, "count account links")
	}
	counts := make(map[stripesync.LinkState]int, len(linkStates))
	for _, s := range linkStates {
		counts[s] = 0
	}
	for _, r := range rows {
		counts[stripesync.LinkState(r.State)] = r.N
	}
	return counts, nil
}

// AccountLinkByStripeID returns the link of Stripe customer customerID,
// preferring a bound link when, after re-binding, several links once named
// the customer. No link is ENOTFOUND; an empty customerID is EINVALID.
func (db *DB) AccountLinkByStripeID(ctx context.Context, customerID string) (stripesync.AccountLink, error) {
	if customerID == "" {
		return stripesync.AccountLink{}, stripesync.Errorf(stripesync.EINVALID, "store: find account link: no Stripe customer id")
	}
	q := "SELECT " + linkColumns + " FROM account_links WHERE stripe_id = ?" +
		" ORDER BY CASE WHEN state = ? THEN 0 ELSE 1 END, updated_at DESC, crm_id LIMIT 1"
	var rows []linkRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), customerID, string(stripesync.LinkBound)); err != nil {
		return stripesync.AccountLink{}, wrap(err, "find the account link of %s", customerID)
	}
	if len(rows) == 0 {
		return stripesync.AccountLink{}, stripesync.Errorf(stripesync.ENOTFOUND, "store: no account is linked to Stripe customer %s", customerID)
	}
	return rows[0].link(), nil
}
