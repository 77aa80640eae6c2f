package store

import (
	"context"
	"time"
)

// PruneTriggers forgets the Outbound Message notification ids seen before
// before and returns how many it forgot. They are all the trigger inbox
// keeps of settled work: a record's pending row is deleted when its push
// completes, and the id stays only so that a redelivered message is not
// taken for a new change. An id that a pending row still names is kept
// whatever its age, and pending rows themselves are never deleted: only
// settled triggers are pruned. The daily prune job (schedules.Prune) calls
// it with the configured retention.
func (db *DB) PruneTriggers(ctx context.Context, before time.Time) (int64, error) {
	const q = "DELETE FROM seen_notifications WHERE seen_at < ?" +
		" AND id NOT IN (SELECT notification_id FROM pending_triggers)"
	res, err := db.x.ExecContext(ctx, db.x.Rebind(q), db.ts(before))
	if err != nil {
		return 0, wrap(err, "prune triggers")
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "prune triggers")
}

// PruneRequests forgets the staff API's Idempotency-Keys whose requests
// started before before, answered or abandoned, and returns how many: a
// retry of one is then served as a new request. The daily prune job calls
// it with the configured retention, far beyond the minutes in which a
// client retries (Stripe itself keeps keys for 24 hours).
func (db *DB) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	return db.deleteBefore(ctx, "DELETE FROM idempotent_requests WHERE started_at < ?", before, "prune requests")
}

// PruneSessions implements schedules.Pruner: it deletes the console
// sessions last seen before before and returns how many.
func (db *DB) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	return db.deleteBefore(ctx, "DELETE FROM staff_sessions WHERE last_seen < ?", before, "prune staff sessions")
}

// deleteBefore runs stmt, a DELETE with one time parameter, and returns
// how many rows it deleted.
func (db *DB) deleteBefore(ctx context.Context, stmt string, before time.Time, what string) (int64, error) {
	res, err := db.x.ExecContext(ctx, db.x.Rebind(stmt), db.ts(before))
	if err != nil {
		return 0, wrap(err, "%s", what)
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "%s", what)
}
