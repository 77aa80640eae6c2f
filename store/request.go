package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

type requestRow struct {
	Fingerprint string `db:"fingerprint"`
	StartedAt   dbTime `db:"started_at"`
	CompletedAt dbTime `db:"completed_at"`
	Status      int    `db:"status"`
	Body        []byte `db:"body"`
}

// ClaimRequest implements [stripesync.IdempotentRequests]. A new key is
// claimed by one insert, on its own: of two concurrent requests with one
// key exactly one inserts it. The read of a key already there and the
// takeover of an abandoned attempt are one transaction, so that exactly
// one of two retries takes it over. A new key, every payment's case, thus
// costs one statement rather than a transaction of three (on Postgres,
// three round trips).
func (db *DB) ClaimRequest(ctx context.Context, scope, key, fingerprint string, now time.Time, staleAfter time.Duration) (stripesync.StoredResponse, bool, error) {
	if scope == "" || key == "" || fingerprint == "" {
		return stripesync.StoredResponse{}, false, stripesync.Errorf(stripesync.EINVALID, "store: a request needs a scope, a key and a fingerprint")
	}
	const ins = "INSERT INTO idempotent_requests (scope, key, fingerprint, started_at) VALUES (?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING"
	res, err := db.x.ExecContext(ctx, db.x.Rebind(ins), scope, key, fingerprint, db.ts(now))
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return stripesync.StoredResponse{}, false, wrap(err, "claim request %s", key)
	}
	if n == 1 {
		return stripesync.StoredResponse{}, true, nil
	}
	var (
		prev    stripesync.StoredResponse
		claimed bool
	)
	err = db.transact(ctx, func(tx *sqlx.Tx) error {
		prev, claimed = stripesync.StoredResponse{}, false
		var row requestRow
		const sel = "SELECT fingerprint, started_at, completed_at, status, body FROM idempotent_requests WHERE scope = ? AND key = ?"
		if err := tx.GetContext(ctx, &row, tx.Rebind(sel+db.forUpdate()), scope, key); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return stripesync.Errorf(stripesync.EUNAVAILABLE, "store: request %s was released meanwhile; retry", key)
			}
			return err
		}
		prev = stripesync.StoredResponse{Fingerprint: row.Fingerprint, Complete: !time.Time(row.CompletedAt).IsZero(), Status: row.Status, Body: row.Body}
		abandoned := !prev.Complete && time.Time(row.StartedAt).Before(now.Add(-staleAfter))
		if !abandoned || prev.Fingerprint != fingerprint {
			return nil
		}
		const take = "UPDATE idempotent_requests SET started_at = ? WHERE scope = ? AND key = ?"
		if _, err := tx.ExecContext(ctx, tx.Rebind(take), db.ts(now), scope, key); err != nil {
			return err
		}
		prev, claimed = stripesync.StoredResponse{}, true
		return nil
	})
	if err != nil {
		return stripesync.StoredResponse{}, false, wrap(err, "claim request %s", key)
	}
	return prev, claimed, nil
}

// CompleteRequest implements [stripesync.IdempotentRequests].
func (db *DB) CompleteRequest(ctx context.Context, scope, key string, status int, body []byte, now time.Time) error {
	const q = "UPDATE idempotent_requests SET completed_at = ?, status = ?, body = ? WHERE scope = ? AND key = ?"
	if _, err := db.x.ExecContext(ctx, db.x.Rebind(q), db.ts(now), status, body, scope, key); err != nil {
		return wrap(err, "complete request %s", key)
	}
	return nil
}

// ReleaseRequest implements [stripesync.IdempotentRequests]. Only an
// incomplete request is forgotten: a stored answer stays the answer.
func (db *DB) ReleaseRequest(ctx context.Context, scope, key string) error {
	const q = "DELETE FROM idempotent_requests WHERE scope = ? AND key = ? AND completed_at IS NULL"
	if _, err := db.x.ExecContext(ctx, db.x.Rebind(q), scope, key); err != nil {
		return wrap(err, "release request %s", key)
	}
	return nil
}
