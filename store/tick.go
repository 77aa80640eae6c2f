package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// tickRetention is how long claimed ticks are remembered. A replica is never
// that late for a tick, and forgetting old ones keeps the table small.
const tickRetention = 7 * 24 * time.Hour

// ClaimTick records that job runs for the scheduled time tick and reports
// whether this caller is the first, cluster-wide, to do so: of all
// replicas woken for the same tick exactly one gets true and runs it. tick
// is compared at microsecond precision, so replicas must derive it from the
// schedule, not from their own clocks. Ticks older than a week are forgotten.
func (db *DB) ClaimTick(ctx context.Context, job string, tick time.Time) (bool, error) {
	if job == "" || tick.IsZero() {
		return false, stripesync.Errorf(stripesync.EINVALID, "store: a tick needs a job name and a time")
	}
	var first bool
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO schedule_ticks (job, tick) VALUES (?, ?) ON CONFLICT DO NOTHING"),
			job, db.ts(tick))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		first = true
		_, err = tx.ExecContext(ctx, tx.Rebind("DELETE FROM schedule_ticks WHERE job = ? AND tick < ?"),
			job, db.ts(tick.Add(-tickRetention)))
		return err
	})
	if err != nil {
		return false, wrap(err, "claim tick of %s", job)
	}
	return first, nil
}
