package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// maxEventBatch bounds a group commit of events: 256 rows of 10 columns
// stay far below both dialects' limits on bound parameters.
const maxEventBatch = 256

const eventColumns = "id, type, created, api_version, account, object_id, payment_intent_id, customer_id, payload, received_at"

type eventRow struct {
	ID              string `db:"id"`
	Type            string `db:"type"`
	Created         dbTime `db:"created"`
	APIVersion      string `db:"api_version"`
	Account         string `db:"account"`
	ObjectID        string `db:"object_id"`
	PaymentIntentID string `db:"payment_intent_id"`
	CustomerID      string `db:"customer_id"`
	Payload         []byte `db:"payload"`
	ReceivedAt      dbTime `db:"received_at"`
	Attempts        int    `db:"attempts"`
}

func (r eventRow) event() stripesync.Event {
	e := stripesync.Event{
		ID:              r.ID,
		Type:            r.Type,
		Created:         time.Time(r.Created),
		APIVersion:      r.APIVersion,
		Account:         r.Account,
		ObjectID:        r.ObjectID,
		PaymentIntentID: r.PaymentIntentID,
		CustomerID:      r.CustomerID,
		Attempts:        r.Attempts,
	}
	if len(r.Payload) > 0 {
		e.Payload = r.Payload
	}
	return e
}

// acceptedEvent is one AcceptEvent call waiting for its group commit.
type acceptedEvent struct {
	event      stripesync.Event
	receivedAt time.Time
}

// AcceptEvent stores a verified Stripe event durably, once per event id,
// and reports whether this call stored it (false for a repeat). An event
// without an ID or Type, or with a zero Created, is EINVALID.
//
// Concurrent calls are committed together by one committer goroutine per
// DB (group commit): a call returns once the transaction holding its event
// has committed, and a burst of webhooks costs one commit per batch rather
// than one per event. A call whose ctx ends while it waits returns ctx's
// error, but its event may still be committed with its batch; the sender
// retries (Stripe redelivers anything not acknowledged) and the retry is
// de-duplicated. A commit failure fails every call of that batch.
func (db *DB) AcceptEvent(ctx context.Context, e stripesync.Event) (bool, error) {
	switch {
	case e.ID == "" || e.Type == "":
		return false, stripesync.Errorf(stripesync.EINVALID, "store: Stripe event %q has no id or type", e.ID)
	case e.Created.IsZero():
		return false, stripesync.Errorf(stripesync.EINVALID, "store: Stripe event %s has no created time", e.ID)
	}
	inserted, err := db.events.do(ctx, acceptedEvent{event: e, receivedAt: db.now()})
	return inserted, wrap(err, "accept Stripe event %s", e.ID)
}

// insertEvents is the group commit of AcceptEvent: the batch in one
// transaction. When one id is in a batch twice, the earlier call stores it.
func (db *DB) insertEvents(ctx context.Context, reqs []acceptedEvent) ([]bool, error) {
	if db.dialect == DialectSQLite {
		return db.insertEventsEach(ctx, reqs)
	}
	return db.insertEventsAtOnce(ctx, reqs)
}

// eventArgs are the values of e's row, in eventColumns order.
func (db *DB) eventArgs(r acceptedEvent) []any {
	e := r.event
	payload := e.Payload
	if payload == nil {
		payload = []byte{}
	}
	return []any{e.ID, e.Type, db.ts(e.Created), e.APIVersion, e.Account, e.ObjectID,
		e.PaymentIntentID, e.CustomerID, payload, db.ts(r.receivedAt)}
}

// insertEventOne is the statement insertEventsEach prepares once per batch:
// SQLite runs in this process, so a statement per row costs no round trip,
// while parsing a multi-row insert, whose text differs with every batch
// size, cost more than executing it.
const insertEventOne = "INSERT INTO stripe_events (" + eventColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
	" ON CONFLICT (id) DO NOTHING"

// insertEventsEach inserts the batch row by row, in call order, with the
// prepared insertEventOne, in one immediate transaction: one commit (one
// WAL sync) for the batch.
func (db *DB) insertEventsEach(ctx context.Context, reqs []acceptedEvent) ([]bool, error) {
	inserted := make([]bool, len(reqs))
	if len(reqs) == 1 {
		// One statement is its own transaction: no BEGIN, COMMIT and
		// prepare for the lone event of a quiet moment.
		res, err := db.x.ExecContext(ctx, insertEventOne, db.eventArgs(reqs[0])...)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		inserted[0] = n == 1
		return inserted, nil
	}
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		stmt, err := tx.PreparexContext(ctx, insertEventOne)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, r := range reqs {
			res, err := stmt.ExecContext(ctx, db.eventArgs(r)...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			inserted[i] = n == 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inserted, nil
}

// insertEventsAtOnce inserts the batch with one multi-row statement, which
// is one transaction and one round trip. Rows are inserted in id order, so
// that two replicas' batches never wait on each other's unique-index entries
// in a cycle.
func (db *DB) insertEventsAtOnce(ctx context.Context, reqs []acceptedEvent) ([]bool, error) {
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(reqs[a].event.ID, reqs[b].event.ID) })

	q := "INSERT INTO stripe_events (" + eventColumns + ") VALUES " + valuesRows(len(reqs), 10) +
		" ON CONFLICT (id) DO NOTHING RETURNING id"
	args := make([]any, 0, 10*len(reqs))
	for _, i := range order {
		args = append(args, db.eventArgs(reqs[i])...)
	}

	// One statement is one transaction: no BEGIN and COMMIT round trips.
	// The commit is part of the statement, so its failure is the
	// statement's error.
	var stored []string
	if err := db.x.SelectContext(ctx, &stored, db.x.Rebind(q), args...); err != nil {
		return nil, err
	}
	fresh := make(map[string]bool, len(stored))
	for _, id := range stored {
		fresh[id] = true
	}
	inserted := make([]bool, len(reqs))
	for _, i := range order {
		id := reqs[i].event.ID
		inserted[i] = fresh[id]
		delete(fresh, id)
	}
	return inserted, nil
}

// freshEvent and leasedEvent are the predicates of the two claim indexes
// of migration 0008 (stripe_events_fresh_idx, stripe_events_leased_idx):
// a query that repeats one reads that index's short range rather than
// every event kept for de-duplication.
const (
	freshEvent  = "processed_at IS NULL AND dead_at IS NULL AND locked_until IS NULL"
	leasedEvent = "processed_at IS NULL AND dead_at IS NULL AND locked_until IS NOT NULL"
)

// ClaimEvents leases up to n claimable events for lease: unprocessed, not
// dead, not leased, and received at least settle ago. They are not handed
// out again until the lease ends (or FailEvents or DeferEvents set another
// time), and an event whose lease ends before MarkEventsProcessed is
// claimed again.
//
// The order is Created, then PaymentIntent, then ID: oldest first, and the
// events Stripe sends together about one PaymentIntent (charge.succeeded
// and payment_intent.succeeded share their second) side by side, so that
// one batch holds both halves of a payment. settle serves the same end
// for events still arriving: the second half of a pair is usually a few
// milliseconds behind the first. Events claimed before, whose lease or
// retry time has come, join in the same order; when more than n are due,
// those due first are taken.
//
// On Postgres several processes can claim concurrently (FOR UPDATE SKIP
// LOCKED) and never receive the same event. n ≤ 0, a lease ≤ 0 or a
// negative settle is EINVALID.
func (db *DB) ClaimEvents(ctx context.Context, n int, lease, settle time.Duration) ([]stripesync.Event, error) {
	if n <= 0 || lease <= 0 || settle < 0 {
		return nil, stripesync.Errorf(stripesync.EINVALID,
			"store: claim needs n > 0, a positive lease and a settle ≥ 0 (got %d, %s, %s)", n, lease, settle)
	}
	now := db.now()
	// Two index ranges (migration 0008): the events never claimed, in
	// claim order, and those whose lease or retry time has come, by that
	// time; neither steps over the events still leased, however many wait
	// in the read lane.
	q := "UPDATE stripe_events SET locked_until = ?, claimed_by = ?" +
		" WHERE id IN (SELECT id FROM (" +
		"SELECT id, created, payment_intent_id FROM (SELECT id, created, payment_intent_id FROM stripe_events" +
		" WHERE " + freshEvent + " AND received_at <= ?" +
		" ORDER BY created, payment_intent_id, id LIMIT ?" + db.skipLocked() + ") AS fresh" +
		" UNION ALL " +
		"SELECT id, created, payment_intent_id FROM (SELECT id, created, payment_intent_id FROM stripe_events" +
		" WHERE " + leasedEvent + " AND locked_until <= ?" +
		" ORDER BY locked_until LIMIT ?" + db.skipLocked() + ") AS due" +
		") AS claimable ORDER BY created, payment_intent_id, id LIMIT ?)" +
		" RETURNING " + eventColumns + ", attempts"
	var rows []eventRow
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, tx.Rebind(q), db.ts(now.Add(lease)), db.claimedBy(),
			db.ts(now.Add(-settle)), n, db.ts(now), n, n)
	})
	if err != nil {
		return nil, wrap(err, "claim Stripe events")
	}
	// RETURNING follows no ORDER BY; restore the claim order.
	slices.SortFunc(rows, func(a, b eventRow) int {
		return cmp.Or(time.Time(a.Created).Compare(time.Time(b.Created)),
			cmp.Compare(a.PaymentIntentID, b.PaymentIntentID), cmp.Compare(a.ID, b.ID))
	})
	events := make([]stripesync.Event, len(rows))
	for i, r := range rows {
		events[i] = r.event()
	}
	return events, nil
}

// MarkEventsProcessed records that the events with these ids were applied:
// they are never claimed again and stay, as the de-duplication memory,
// until PruneEvents forgets them. Unknown ids and events already marked are
// left alone.
func (db *DB) MarkEventsProcessed(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := db.updateUnprocessed(ctx, "processed_at = ?, locked_until = NULL", db.ts(db.now()), ids)
	return wrap(err, "mark %d Stripe events processed", len(ids))
}

// FailEvents records one failed attempt for each failure, in one
// transaction: the event's attempts grow by one and its error is kept; it
// is claimable again at RetryAt, or, when Dead, it moves to the dead
// letters and is never claimed again. Events already processed are left
// alone.
func (db *DB) FailEvents(ctx context.Context, failures []stripesync.EventFailure) error {
	if len(failures) == 0 {
		return nil
	}
	now := db.ts(db.now())
	// locked_until becomes a retry time, which no claimer holds: a crash
	// of this process must not make the event due early (ReclaimDead).
	q := db.x.Rebind("UPDATE stripe_events SET attempts = attempts + 1, last_error = ?, locked_until = ?," +
		" claimed_by = NULL, dead_at = ? WHERE id = ? AND processed_at IS NULL")
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		for _, f := range failures {
			var dead any
			if f.Dead {
				dead = now
			}
			if _, err := tx.ExecContext(ctx, q, clip(f.Error), db.ts(f.RetryAt), dead, f.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "record %d failed Stripe events", len(failures))
}

// DeferEvents makes claimed events claimable again at until, without
// counting an attempt: the engine had no capacity to try them, or Stripe
// was known to be unavailable.
func (db *DB) DeferEvents(ctx context.Context, ids []string, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	// As in FailEvents, the time until which the events wait is no lease.
	err := db.updateUnprocessed(ctx, "locked_until = ?, claimed_by = NULL", db.ts(until), ids)
	return wrap(err, "defer %d Stripe events", len(ids))
}

// updateUnprocessed applies "SET <set>" (with its one argument) to the
// unprocessed events among ids, in one transaction, idBatch ids per
// statement.
func (db *DB) updateUnprocessed(ctx context.Context, set string, arg any, ids []string) error {
	return db.transact(ctx, func(tx *sqlx.Tx) error {
		for start := 0; start < len(ids); start += idBatch {
			batch := ids[start:min(start+idBatch, len(ids))]
			q, args, err := sqlx.In("UPDATE stripe_events SET "+set+" WHERE processed_at IS NULL AND id IN (?)", arg, batch)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// PruneEvents deletes the events processed before before and returns how
// many it deleted. Unprocessed events are never deleted. The daily prune
// job (schedules.Prune) calls it with the configured retention.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.pruneEvents(ctx, db.x, before)
	return n, wrap(err, "prune Stripe events")
}

func (db *DB) pruneEvents(ctx context.Context, ex sqlx.ExecerContext, before time.Time) (int64, error) {
	res, err := ex.ExecContext(ctx, db.x.Rebind("DELETE FROM stripe_events WHERE processed_at < ?"), db.ts(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
