package store

import (
	"context"
	"time"

	"github.com/stripesync/stripesync"
)

// InboxBacklog counts the unprocessed Stripe events and the records with a
// pending trigger, with when the oldest of each was received, for the
// backlog metrics. Leased and failed items count: they are not done. One
// statement reads both inboxes, so a scrape costs one round trip, and
// on Postgres the four numbers come from one snapshot.
func (db *DB) InboxBacklog(ctx context.Context) (stripesync.Backlog, error) {
	const q = "SELECT" +
		" (SELECT COUNT(*) FROM stripe_events WHERE processed_at IS NULL)," +
		" (SELECT MIN(received_at) FROM stripe_events WHERE processed_at IS NULL)," +
		" (SELECT COUNT(*) FROM pending_triggers)," +
		" (SELECT MIN(received_at) FROM pending_triggers)"
	var (
		b                          stripesync.Backlog
		oldestEvent, oldestTrigger dbTime
	)
	err := db.x.QueryRowContext(ctx, q).Scan(&b.Events, &oldestEvent, &b.Triggers, &oldestTrigger)
	if err != nil {
		return stripesync.Backlog{}, wrap(err, "read the inbox backlog")
	}
	b.OldestEvent, b.OldestTrigger = time.Time(oldestEvent), time.Time(oldestTrigger)
	return b, nil
}
