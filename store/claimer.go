package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stripesync/stripesync"
)

// claimer is this process's identity as a holder of leases, shared by
// every DB made from one Open (WithClock, WithTriggerWindow). Claims
// record its id in claimed_by, so that after a crash the next process can
// tell the leases of a dead claimer from those of a live one, and end them
// at once instead of waiting for them to run out.
type claimer struct {
	// id is 0 until Register: claims then record NULL, which no one ever
	// reclaims early.
	id atomic.Int64
	mu sync.Mutex
	// release gives up the proof of life (the lock file or the advisory
	// lock); nil until Register.
	release func() error
}

// claimedBy is the claimed_by value of a claim made now.
func (db *DB) claimedBy() any {
	if id := db.claimer.id.Load(); id != 0 {
		return id
	}
	return nil
}

// Register makes db a claimer whose leases other processes can reclaim once
// it is dead, and holds the proof that it is alive until Close:
//
//   - On SQLite it takes an exclusive lock on the sidecar file PATH.lock, so
//     two daemons never run on one file, and any other claimer recorded in
//     the file belongs to a process that has ended. A second Register on the
//     file, from any process, is ECONFLICT.
//   - On Postgres it holds a session advisory lock, keyed by its random id,
//     on a connection set aside for the process's life. The server frees it
//     when the session ends, however the process died. Should that
//     connection break while the process lives (a server restart), a process
//     starting meanwhile may reclaim this one's leases: the work is then done
//     twice, as after a lease that ran out, which every handler tolerates.
//
// The daemon calls it once at start, before its workers claim anything.
// Processes that do not (CLI commands) claim anonymously: their leases run
// out as before. Calling it again does nothing.
func (db *DB) Register(ctx context.Context) error {
	c := db.claimer
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id.Load() != 0 {
		return nil
	}
	var b [16]byte
	rand.Read(b[:])
	id := db.advisoryKey("claimer:" + hex.EncodeToString(b[:]))
	var err error
	if db.dialect == DialectPostgres {
		c.release, err = db.holdAdvisoryLock(ctx, id)
	} else {
		c.release, err = lockFile(db.target.path + ".lock")
	}
	if err != nil {
		return err
	}
	c.id.Store(id)
	return nil
}

// holdAdvisoryLock takes the session advisory lock id on a connection of its
// own, which a pooled connection could not keep: database/sql would hand it
// to other queries or close it when idle.
func (db *DB) holdAdvisoryLock(ctx context.Context, id int64) (func() error, error) {
	conn, err := db.x.Conn(ctx)
	if err != nil {
		return nil, wrap(err, "register the claimer")
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", id).Scan(&ok); err != nil || !ok {
		discard(conn.Raw)
		if err == nil {
			// A random 64-bit id taken already: nothing to retry against.
			err = stripesync.Errorf(stripesync.ECONFLICT, "store: claimer id %d is locked by another session", id)
		}
		return nil, wrap(err, "register the claimer")
	}
	return func() error {
		// Unlock before closing so that the lock is free when Close
		// returns; closing alone frees it when the server notices.
		ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
		defer cancel()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", id); err != nil {
			discard(conn.Raw)
			return err
		}
		return conn.Close()
	}, nil
}

// lockFile takes an exclusive flock on path, created if missing, held until
// the returned release (or the process's end: the kernel drops it with the
// descriptor, so a kill -9 leaves no stale lock). The file stays: removing
// it would let a second process lock a new file of the same name.
func lockFile(path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, wrap(err, "open the lock file %s", path)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, stripesync.Errorf(stripesync.ECONFLICT,
				"store: another stripesync serve is using this database (it holds %s)", path)
		}
		return nil, wrap(err, "lock %s", path)
	}
	return f.Close, nil
}

// close gives up the proof of life, so that a later process may reclaim
// what this one still holds.
func (c *claimer) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.release == nil {
		return nil
	}
	err := c.release()
	c.release = nil
	return err
}

// Reclaimed counts the leases ReclaimDead ended, per kind of work.
// Receipts counts receipt mails whose SMTP conversation a dead process
// had started (StartReceiptMail) and never finished.
type Reclaimed struct {
	Jobs, Events, Triggers, Receipts int64
}

// ReclaimDead ends at once every lease held by a claimer that is provably
// dead, so that what a crashed process was doing is claimed again in
// seconds rather than when its lease runs out. A job's attempt counts as
// one that failed, as when its lease runs out (on its last attempt, the
// job goes to the dead letters at its next claim); an event or a trigger
// keeps its attempts. A receipt mail a dead claimer had started may be
// sent again at once: the process died inside the SMTP conversation, the
// one case in which a receipt can reach its customer twice.
//
// On SQLite every registered claimer other than db is dead, which the lock
// file Register holds proves. On Postgres a claimer is dead when its
// advisory lock is free: the lock is taken for the transaction's length,
// so that two processes starting together never both judge one claimer.
// Leases recorded without a claimer are left to run out. db must be
// registered (EINVALID otherwise).
func (db *DB) ReclaimDead(ctx context.Context) (Reclaimed, error) {
	me := db.claimer.id.Load()
	if me == 0 {
		return Reclaimed{}, stripesync.Errorf(stripesync.EINVALID, "store: ReclaimDead before Register")
	}
	now := db.ts(db.now())
	var r Reclaimed
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		var owners []int64
		q := "SELECT claimed_by FROM jobs WHERE claimed_by IS NOT NULL AND locked_until > ?" +
			" UNION SELECT claimed_by FROM stripe_events WHERE " + leasedEvent + " AND claimed_by IS NOT NULL AND locked_until > ?" +
			" UNION SELECT claimed_by FROM pending_triggers WHERE claimed_by IS NOT NULL AND locked_until > ?" +
			" UNION SELECT claimed_by FROM receipt_mails WHERE claimed_by IS NOT NULL AND " + receiptSending
		if err := tx.SelectContext(ctx, &owners, tx.Rebind(q), now, now, now); err != nil {
			return err
		}
		dead, err := db.deadClaimers(ctx, tx, me, owners)
		if err != nil || len(dead) == 0 {
			return err
		}
		for _, u := range []struct {
			table, set, where string
			args              []any
			n                 *int64
		}{
			{"jobs", "locked_until = ?", "locked_until > ?", []any{now, now}, &r.Jobs},
			{"stripe_events", "locked_until = ?", leasedEvent + " AND locked_until > ?", []any{now, now}, &r.Events},
			{"pending_triggers", "locked_until = ?", "locked_until > ?", []any{now, now}, &r.Triggers},
			{"receipt_mails", "sending_at = NULL", receiptSending, nil, &r.Receipts},
		} {
			q, args, err := sqlx.In("UPDATE "+u.table+" SET "+u.set+", claimed_by = NULL WHERE "+u.where+
				" AND claimed_by IN (?)", append(u.args, dead)...)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
			if err != nil {
				return err
			}
			if *u.n, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Reclaimed{}, wrap(err, "reclaim the leases of dead claimers")
	}
	return r, nil
}

// deadClaimers returns the owners, other than me, that are dead.
func (db *DB) deadClaimers(ctx context.Context, tx *sqlx.Tx, me int64, owners []int64) ([]int64, error) {
	others := owners[:0]
	for _, o := range owners {
		if o != me {
			others = append(others, o)
		}
	}
	if db.dialect != DialectPostgres || len(others) == 0 {
		return others, nil
	}
	var dead []int64
	err := tx.SelectContext(ctx, &dead, "SELECT o FROM unnest($1::bigint[]) AS o WHERE pg_try_advisory_xact_lock(o)", pq.Array(others))
	return dead, err
}
