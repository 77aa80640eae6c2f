package store

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// DefaultTriggerWindow is how long a record's first pending trigger waits
// before it can be claimed. Salesforce often sends several messages for one
// save (a workflow updating fields one after another); waiting a moment
// lets them coalesce into one push.
const DefaultTriggerWindow = time.Second

// triggerBatch bounds the rows of one multi-row trigger statement (7
// parameters each), well under both dialects' limits.
const triggerBatch = 500

// ClaimedTrigger is the root type: a pending record handed to a worker by
// ClaimTriggers.
type ClaimedTrigger = stripesync.ClaimedTrigger

type triggerKey struct{ object, recordID string }

func compareTriggerKeys(a, b triggerKey) int {
	return cmp.Or(cmp.Compare(a.object, b.object), cmp.Compare(a.recordID, b.recordID))
}

// WithTriggerWindow returns a DB on the same pool whose AcceptTriggers
// makes a record's first pending trigger claimable only after window
// (DefaultTriggerWindow unless set; zero means at once). Closing either DB
// closes both.
func (db *DB) WithTriggerWindow(window time.Duration) *DB {
	c := *db
	c.triggerWindow = max(window, 0)
	return &c
}

// AcceptTriggers stores one Outbound Message's notifications, or one JSON
// trigger's ids, in one transaction, and returns how many were new.
// Notifications whose NotificationID was accepted before (until
// PruneTriggers forgets it) are skipped; the others, and every trigger
// without a NotificationID (a JSON trigger: no de-duplication), are merged
// into the pending set keyed by (Object, RecordID): several triggers for one
// record coalesce into one pending row, which keeps the greatest ModStamp
// and the first ReceivedAt and gets a new, greater sequence number, so that
// a worker holding an older claim pushes the record again (CompleteTrigger).
// A new pending row is claimable after the trigger window (see
// WithTriggerWindow) from its ReceivedAt; a zero ReceivedAt means now.
// A trigger without an Object or RecordID is EINVALID and nothing is stored.
func (db *DB) AcceptTriggers(ctx context.Context, ts []stripesync.Trigger) (accepted int, err error) {
	for _, t := range ts {
		if t.Object == "" || t.RecordID == "" {
			return 0, stripesync.Errorf(stripesync.EINVALID, "store: trigger %q names no object or record (%q, %q)",
				t.NotificationID, t.Object, t.RecordID)
		}
	}
	if len(ts) == 0 {
		return 0, nil
	}
	now := db.now()
	err = db.transact(ctx, func(tx *sqlx.Tx) error {
		fresh, err := db.markSeen(ctx, tx, ts, now)
		if err != nil {
			return err
		}
		accepted = 0
		pending := map[triggerKey]*stripesync.Trigger{}
		for _, t := range ts {
			if t.NotificationID != "" {
				if !fresh[t.NotificationID] {
					continue
				}
				delete(fresh, t.NotificationID) // a repeat within the message
			}
			accepted++
			if t.ReceivedAt.IsZero() {
				t.ReceivedAt = now
			}
			t.ReceivedAt, t.ModStamp = utc(t.ReceivedAt), utc(t.ModStamp)
			k := triggerKey{t.Object, t.RecordID}
			p, ok := pending[k]
			if !ok {
				pending[k] = &t
				continue
			}
			if t.NotificationID != "" {
				p.NotificationID = t.NotificationID
			}
			if t.ModStamp.After(p.ModStamp) {
				p.ModStamp = t.ModStamp
			}
			if t.ReceivedAt.Before(p.ReceivedAt) {
				p.ReceivedAt = t.ReceivedAt
			}
		}
		return db.mergePending(ctx, tx, pending)
	})
	if err != nil {
		return 0, wrap(err, "accept %d triggers", len(ts))
	}
	return accepted, nil
}

// markSeen records the notification ids of ts as seen at now and returns
// those that were not seen before. Ids are inserted in order, so that two
// concurrent messages never wait on each other in a cycle.
func (db *DB) markSeen(ctx context.Context, tx *sqlx.Tx, ts []stripesync.Trigger, now time.Time) (map[string]bool, error) {
	var ids []string
	for _, t := range ts {
		if t.NotificationID != "" {
			ids = append(ids, t.NotificationID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	fresh := make(map[string]bool, len(ids))
	for start := 0; start < len(ids); start += idBatch {
		batch := ids[start:min(start+idBatch, len(ids))]
		q := "INSERT INTO seen_notifications (id, seen_at) VALUES " +
			strings.Repeat("(?, ?), ", len(batch)-1) + "(?, ?) ON CONFLICT (id) DO NOTHING RETURNING id"
		args := make([]any, 0, 2*len(batch))
		for _, id := range batch {
			args = append(args, id, db.ts(now))
		}
		var inserted []string
		if err := tx.SelectContext(ctx, &inserted, tx.Rebind(q), args...); err != nil {
			return nil, err
		}
		for _, id := range inserted {
			fresh[id] = true
		}
	}
	return fresh, nil
}

// mergePending upserts one pending row per record, each with a new seq,
// in key order.
func (db *DB) mergePending(ctx context.Context, tx *sqlx.Tx, pending map[triggerKey]*stripesync.Trigger) error {
	keys := make([]triggerKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareTriggerKeys)
	seqs, err := db.nextValues(ctx, tx, counterTriggers, len(keys))
	if err != nil {
		return err
	}
	for start := 0; start < len(keys); start += triggerBatch {
		batch := keys[start:min(start+triggerBatch, len(keys))]
		q := "INSERT INTO pending_triggers (object, record_id, notification_id, modstamp, received_at, seq, not_before) VALUES " +
			strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(batch)-1) + "(?, ?, ?, ?, ?, ?, ?)" +
			" ON CONFLICT (object, record_id) DO UPDATE SET seq = excluded.seq," +
			" notification_id = CASE WHEN excluded.notification_id = '' THEN pending_triggers.notification_id" +
			" ELSE excluded.notification_id END," +
			" modstamp = CASE WHEN excluded.modstamp IS NULL THEN pending_triggers.modstamp" +
			" WHEN pending_triggers.modstamp IS NULL OR excluded.modstamp > pending_triggers.modstamp THEN excluded.modstamp" +
			" ELSE pending_triggers.modstamp END," +
			" received_at = CASE WHEN excluded.received_at < pending_triggers.received_at THEN excluded.received_at" +
			" ELSE pending_triggers.received_at END"
		args := make([]any, 0, 7*len(batch))
		for i, k := range batch {
			t := pending[k]
			args = append(args, k.object, k.recordID, t.NotificationID, db.ts(t.ModStamp), db.ts(t.ReceivedAt),
				seqs[start+i], db.ts(t.ReceivedAt.Add(db.triggerWindow)))
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return err
		}
	}
	return nil
}

type triggerRow struct {
	Object         string `db:"object"`
	RecordID       string `db:"record_id"`
	NotificationID string `db:"notification_id"`
	ModStamp       dbTime `db:"modstamp"`
	ReceivedAt     dbTime `db:"received_at"`
	Seq            int64  `db:"seq"`
	Attempts       int    `db:"attempts"`
	LastError      string `db:"last_error"`
}

// ClaimTriggers leases up to n pending records whose window (or retry
// time) has passed and that are not leased, oldest ReceivedAt first. Each
// stays invisible to other claimers until the lease ends or it is completed
// or failed. On Postgres several processes can claim concurrently (FOR
// UPDATE SKIP LOCKED) and never receive the same record. n ≤ 0 or a lease ≤
// 0 is EINVALID.
func (db *DB) ClaimTriggers(ctx context.Context, n int, lease time.Duration) ([]ClaimedTrigger, error) {
	if n <= 0 || lease <= 0 {
		return nil, stripesync.Errorf(stripesync.EINVALID, "store: claim needs n > 0 and a positive lease (got %d, %s)", n, lease)
	}
	now := db.now()
	q := "UPDATE pending_triggers SET locked_until = ?, claimed_by = ?, attempts = attempts + 1" +
		" WHERE (object, record_id) IN (SELECT object, record_id FROM pending_triggers" +
		" WHERE not_before <= ? AND (locked_until IS NULL OR locked_until <= ?)" +
		" ORDER BY received_at, object, record_id LIMIT ?" + db.skipLocked() + ")" +
		" RETURNING object, record_id, notification_id, modstamp, received_at, seq, attempts, last_error"
	var rows []triggerRow
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, tx.Rebind(q), db.ts(now.Add(lease)), db.claimedBy(), db.ts(now), db.ts(now), n)
	})
	if err != nil {
		return nil, wrap(err, "claim triggers")
	}
	// RETURNING follows no ORDER BY; restore the claim order.
	slices.SortFunc(rows, func(a, b triggerRow) int {
		return cmp.Or(time.Time(a.ReceivedAt).Compare(time.Time(b.ReceivedAt)),
			compareTriggerKeys(triggerKey{a.Object, a.RecordID}, triggerKey{b.Object, b.RecordID}))
	})
	claimed := make([]ClaimedTrigger, len(rows))
	for i, r := range rows {
		claimed[i] = ClaimedTrigger{
			Trigger: stripesync.Trigger{
				NotificationID: r.NotificationID,
				Object:         r.Object,
				RecordID:       r.RecordID,
				ModStamp:       time.Time(r.ModStamp),
				ReceivedAt:     time.Time(r.ReceivedAt),
			},
			Seq:       r.Seq,
			Attempts:  r.Attempts,
			LastError: r.LastError,
		}
	}
	return claimed, nil
}

// CompleteTrigger records that the record of t was pushed. The pending row
// is removed only if its sequence is still t.Seq; if a newer trigger
// arrived meanwhile, the row stays pending with its lease cleared (and its
// attempts reset), so the record is pushed again. Completing a record that
// is no longer pending does nothing.
func (db *DB) CompleteTrigger(ctx context.Context, t ClaimedTrigger) error {
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM pending_triggers WHERE object = ? AND record_id = ? AND seq = ?"),
			t.Object, t.RecordID, t.Seq)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE pending_triggers SET locked_until = NULL, attempts = 0, last_error = ''"+
			" WHERE object = ? AND record_id = ? AND seq > ?"), t.Object, t.RecordID, t.Seq)
		return err
	})
	return wrap(err, "complete trigger %s %s", t.Object, t.RecordID)
}

// FailTrigger records a failed push of t's record: the row is kept, its
// lease cleared, with cause as its last error, and becomes claimable again
// at retryAt (now when zero). A record that is no longer pending is left
// alone.
func (db *DB) FailTrigger(ctx context.Context, t ClaimedTrigger, retryAt time.Time, cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = clip(cause.Error())
	}
	if retryAt.IsZero() {
		retryAt = db.now()
	}
	const q = "UPDATE pending_triggers SET locked_until = NULL, not_before = ?, last_error = ? WHERE object = ? AND record_id = ?"
	_, err := db.x.ExecContext(ctx, db.x.Rebind(q), db.ts(retryAt), msg, t.Object, t.RecordID)
	return wrap(err, "fail trigger %s %s", t.Object, t.RecordID)
}
