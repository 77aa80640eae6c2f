package store

import (
	"context"

	"github.com/stripesync/stripesync"
)

// ReviveJob puts the dead letter id back in the queue: due now, with its
// attempts counted afresh and its last error kept until the next attempt
// replaces it. A job that does not exist or is not dead is ENOTFOUND.
func (db *DB) ReviveJob(ctx context.Context, id int64) error {
	const q = "UPDATE jobs SET dead = ?, attempts = 0, run_at = ?, locked_until = NULL WHERE id = ? AND dead"
	res, err := db.x.ExecContext(ctx, db.x.Rebind(q), false, db.ts(db.now()), id)
	if err != nil {
		return wrap(err, "revive job %d", id)
	}
	return oneRow(res, "dead letter %d", id)
}

// ReviveJobs puts every dead letter of kind back in the queue, as
// ReviveJob does, and returns how many.
func (db *DB) ReviveJobs(ctx context.Context, kind string) (int64, error) {
	if kind == "" {
		return 0, stripesync.Errorf(stripesync.EINVALID, "store: name the kind of dead letters to retry")
	}
	const q = "UPDATE jobs SET dead = ?, attempts = 0, run_at = ?, locked_until = NULL WHERE kind = ? AND dead"
	res, err := db.x.ExecContext(ctx, db.x.Rebind(q), false, db.ts(db.now()), kind)
	if err != nil {
		return 0, wrap(err, "revive the dead %s jobs", kind)
	}
	n, err := res.RowsAffected()
	return n, wrap(err, "revive the dead %s jobs", kind)
}

// DropJob deletes the dead letter id for good. A job that does not exist
// or is not dead is ENOTFOUND: a live job is the workers', not a person's
// to drop.
func (db *DB) DropJob(ctx context.Context, id int64) error {
	res, err := db.x.ExecContext(ctx, db.x.Rebind("DELETE FROM jobs WHERE id = ? AND dead"), id)
	if err != nil {
		return wrap(err, "drop job %d", id)
	}
	return oneRow(res, "dead letter %d", id)
}
