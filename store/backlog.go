package store

import (
	"context"
	"time"

	"github.com/stripesync/stripesync"
)

// InboxBacklog counts the unprocessed Stripe events and the records with a
// pending trigger, with when the oldest of each was received, and the dead
// letters, and the jobs waiting in the queue, for the backlog metrics. Leased and failed items count: they
// are not done; dead events are counted apart, because no worker will
// take them. A job not due yet that was never tried (the failure digest,
// which waits for the rest of a storm) is not waiting: it is planned. One
// statement reads both inboxes, so a scrape costs one round trip, and
// on Postgres the six numbers come from one snapshot.
func (db *DB) InboxBacklog(ctx context.Context) (stripesync.Backlog, error) {
	const q = "SELECT" +
		" (SELECT COUNT(*) FROM stripe_events WHERE processed_at IS NULL AND dead_at IS NULL)," +
		" (SELECT MIN(received_at) FROM stripe_events WHERE processed_at IS NULL AND dead_at IS NULL)," +
		" (SELECT COUNT(*) FROM stripe_events WHERE processed_at IS NULL AND dead_at IS NOT NULL)," +
		" (SELECT COUNT(*) FROM jobs WHERE NOT dead AND (attempts > 0 OR run_at <= ?))," +
		" (SELECT COUNT(*) FROM pending_triggers)," +
		" (SELECT MIN(received_at) FROM pending_triggers)"
	var (
		b                          stripesync.Backlog
		oldestEvent, oldestTrigger dbTime
	)
	err := db.x.QueryRowContext(ctx, db.x.Rebind(q), db.ts(db.now())).Scan(&b.Events, &oldestEvent, &b.DeadEvents, &b.Jobs, &b.Triggers, &oldestTrigger)
	if err != nil {
		return stripesync.Backlog{}, wrap(err, "read the inbox backlog")
	}
	b.OldestEvent, b.OldestTrigger = time.Time(oldestEvent), time.Time(oldestTrigger)
	return b, nil
}
