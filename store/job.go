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

// DefaultMaxAttempts is the MaxAttempts of a job enqueued with zero.
const DefaultMaxAttempts = 10

// maxErrorLen bounds the last_error kept per job; the start of an error
// says what went wrong, and a runaway message must not bloat the table.
const maxErrorLen = 2000

// errLeaseExpired is the last_error of a job whose final attempt never
// reported back (the worker crashed or hung past its lease).
const errLeaseExpired = "lease expired on the final attempt"

const jobColumns = "id, kind, key, payload, attempts, max_attempts, run_at, last_error, dead, created_at"

type jobRow struct {
	ID          int64  `db:"id"`
	Kind        string `db:"kind"`
	Key         string `db:"key"`
	Payload     []byte `db:"payload"`
	Attempts    int    `db:"attempts"`
	MaxAttempts int    `db:"max_attempts"`
	RunAt       dbTime `db:"run_at"`
	LastError   string `db:"last_error"`
	Dead        bool   `db:"dead"`
	CreatedAt   dbTime `db:"created_at"`
}

func (r jobRow) job() stripesync.Job {
	j := stripesync.Job{
		ID:          r.ID,
		Kind:        r.Kind,
		Key:         r.Key,
		Attempts:    r.Attempts,
		MaxAttempts: r.MaxAttempts,
		RunAt:       time.Time(r.RunAt),
		LastError:   r.LastError,
		Dead:        r.Dead,
		CreatedAt:   time.Time(r.CreatedAt),
	}
	// The column is NOT NULL, so "no payload" is stored empty; give it back
	// as it was most likely given.
	if len(r.Payload) > 0 {
		j.Payload = r.Payload
	}
	return j
}

// Enqueue stores j (its ID, Attempts, LastError, Dead and CreatedAt are
// ignored) and reports whether it was added: a job with the same Kind and a
// non-empty Key that is still queued, running or dead is not added again.
// A zero RunAt means now; a zero MaxAttempts means [DefaultMaxAttempts]; an
// empty Payload comes back nil.
// An empty Kind or a negative MaxAttempts is EINVALID.
func (db *DB) Enqueue(ctx context.Context, j stripesync.Job) (bool, error) {
	return db.enqueue(ctx, db.x, j)
}

// enqueue is Enqueue on ex, which is the pool or a transaction: the ledger
// writes the jobs a change calls for in the transaction that makes the
// change, so that either both are stored or neither is.
func (db *DB) enqueue(ctx context.Context, ex sqlx.ExecerContext, j stripesync.Job) (bool, error) {
	switch {
	case j.Kind == "":
		return false, stripesync.Errorf(stripesync.EINVALID, "store: job has no kind")
	case j.MaxAttempts < 0:
		return false, stripesync.Errorf(stripesync.EINVALID, "store: job %s/%s has negative MaxAttempts %d", j.Kind, j.Key, j.MaxAttempts)
	case j.MaxAttempts == 0:
		j.MaxAttempts = DefaultMaxAttempts
	}
	now := db.now()
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	if j.Payload == nil {
		j.Payload = []byte{}
	}
	const q = "INSERT INTO jobs (kind, key, payload, max_attempts, run_at, created_at) VALUES (?, ?, ?, ?, ?, ?)" +
		" ON CONFLICT DO NOTHING"
	res, err := ex.ExecContext(ctx, db.x.Rebind(q), j.Kind, j.Key, j.Payload, j.MaxAttempts, db.ts(j.RunAt), db.ts(now))
	if err != nil {
		return false, wrap(err, "enqueue %s job", j.Kind)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap(err, "enqueue %s job", j.Kind)
	}
	return n == 1, nil
}

// enqueueAll is enqueue for several jobs in one statement per
// jobsPerInsert, inside tx: jobs whose (Kind, Key) exists already are
// skipped, as enqueue skips them. Every job must be valid (the callers
// build them).
func (db *DB) enqueueAll(ctx context.Context, tx *sqlx.Tx, jobs []stripesync.Job) error {
	now := db.ts(db.now())
	for start := 0; start < len(jobs); start += jobsPerInsert {
		chunk := jobs[start:min(start+jobsPerInsert, len(jobs))]
		q := "INSERT INTO jobs (kind, key, payload, max_attempts, run_at, created_at) VALUES " +
			valuesRows(len(chunk), 6) + " ON CONFLICT DO NOTHING"
		args := make([]any, 0, 6*len(chunk))
		for _, j := range chunk {
			attempts := j.MaxAttempts
			if attempts == 0 {
				attempts = DefaultMaxAttempts
			}
			runAt := now
			if !j.RunAt.IsZero() {
				runAt = db.ts(j.RunAt)
			}
			payload := j.Payload
			if payload == nil {
				payload = []byte{}
			}
			args = append(args, j.Kind, j.Key, payload, attempts, runAt, now)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return wrap(err, "enqueue %d jobs", len(chunk))
		}
	}
	return nil
}

// jobsPerInsert bounds one multi-row insert of jobs: 100 rows of 6
// parameters stay far below both dialects' limits.
const jobsPerInsert = 100

// Claim leases up to n jobs of kind that are due (RunAt ≤ now), not dead
// and not leased, oldest RunAt first, and returns them with Attempts already
// counting this attempt. Each stays invisible to other claimers until the
// lease ends or it is completed or failed; a lease that ends counts as a
// failed attempt, and when it was the last one the job goes to the dead
// letters. On Postgres several processes can claim concurrently (FOR UPDATE
// SKIP LOCKED) and never receive the same job.
func (db *DB) Claim(ctx context.Context, kind string, n int, lease time.Duration) ([]stripesync.Job, error) {
	if kind == "" || n <= 0 || lease <= 0 {
		return nil, stripesync.Errorf(stripesync.EINVALID, "store: claim needs a kind, n > 0 and a positive lease (got %q, %d, %s)", kind, n, lease)
	}
	now := db.now()
	var rows []jobRow
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		expired := "UPDATE jobs SET dead = TRUE, locked_until = NULL, last_error = ?" +
			" WHERE id IN (SELECT id FROM jobs WHERE kind = ? AND NOT dead AND attempts >= max_attempts" +
			" AND locked_until IS NOT NULL AND locked_until <= ?" + db.skipLocked() + ")"
		res, err := tx.ExecContext(ctx, tx.Rebind(expired), errLeaseExpired, kind, db.ts(now))
		if err != nil {
			return err
		}
		if dead, err := res.RowsAffected(); err == nil && dead > 0 {
			db.logger.WarnContext(ctx, "jobs moved to dead letters", "kind", kind, "jobs", dead, "reason", errLeaseExpired)
		}
		claim := "UPDATE jobs SET attempts = attempts + 1, locked_until = ?, claimed_by = ?" +
			" WHERE id IN (SELECT id FROM jobs WHERE kind = ? AND NOT dead AND attempts < max_attempts" +
			" AND run_at <= ? AND (locked_until IS NULL OR locked_until <= ?)" +
			" ORDER BY run_at, id LIMIT ?" + db.skipLocked() + ")" +
			" RETURNING " + jobColumns
		return tx.SelectContext(ctx, &rows, tx.Rebind(claim), db.ts(now.Add(lease)), db.claimedBy(), kind, db.ts(now), db.ts(now), n)
	})
	if err != nil {
		return nil, wrap(err, "claim %s jobs", kind)
	}
	// RETURNING follows no ORDER BY; restore the claim order.
	slices.SortFunc(rows, func(a, b jobRow) int {
		return cmp.Or(time.Time(a.RunAt).Compare(time.Time(b.RunAt)), cmp.Compare(a.ID, b.ID))
	})
	jobs := make([]stripesync.Job, len(rows))
	for i, r := range rows {
		jobs[i] = r.job()
	}
	return jobs, nil
}

// Complete removes the finished jobs ids in one statement, so that a
// write-back batch costs one commit rather than one per job. It is
// ENOTFOUND when one of them does not exist (any more): the others are
// removed all the same.
func (db *DB) Complete(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	var removed int64
	err := db.transact(ctx, func(tx *sqlx.Tx) error {
		for start := 0; start < len(ids); start += idBatch {
			q, args, err := sqlx.In("DELETE FROM jobs WHERE id IN (?)", ids[start:min(start+idBatch, len(ids))])
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			removed += n
		}
		return nil
	})
	switch {
	case err != nil:
		return wrap(err, "complete %d jobs", len(ids))
	case removed < int64(len(ids)) && len(ids) == 1:
		return stripesync.Errorf(stripesync.ENOTFOUND, "store: job %d does not exist", ids[0])
	case removed < int64(len(ids)):
		return stripesync.Errorf(stripesync.ENOTFOUND, "store: %d of %d jobs do not exist", int64(len(ids))-removed, len(ids))
	}
	return nil
}

// Fail records a failed attempt of job id with cause as its LastError: the
// job becomes claimable again at retryAt (now when zero), or, when it has
// used its MaxAttempts, moves to the dead letters. A job that does not
// exist or is already dead is ENOTFOUND.
func (db *DB) Fail(ctx context.Context, id int64, cause error, retryAt time.Time) error {
	msg := "unknown error"
	if cause != nil {
		msg = clip(cause.Error())
	}
	if retryAt.IsZero() {
		retryAt = db.now()
	}
	const q = "UPDATE jobs SET last_error = ?, run_at = ?, locked_until = NULL, dead = (attempts >= max_attempts)" +
		" WHERE id = ? AND NOT dead RETURNING " + jobColumns
	var rows []jobRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), msg, db.ts(retryAt), id); err != nil {
		return wrap(err, "fail job %d", id)
	}
	if len(rows) == 0 {
		return stripesync.Errorf(stripesync.ENOTFOUND, "store: job %d does not exist or is already dead", id)
	}
	if j := rows[0]; j.Dead {
		db.logger.WarnContext(ctx, "job moved to dead letters",
			"job_id", j.ID, "kind", j.Kind, "key", j.Key, "attempts", j.Attempts)
	}
	return nil
}

// DeadJobs returns up to limit dead letters of kind ("" for every kind),
// most recently enqueued first. A limit of zero or less means 100.
func (db *DB) DeadJobs(ctx context.Context, kind string, limit int) ([]stripesync.Job, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	q := "SELECT " + jobColumns + " FROM jobs WHERE dead"
	var args []any
	if kind != "" {
		q += " AND kind = ?"
		args = append(args, kind)
	}
	q += " ORDER BY id DESC LIMIT ?"
	var rows []jobRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), append(args, limit)...); err != nil {
		return nil, wrap(err, "list dead jobs")
	}
	jobs := make([]stripesync.Job, len(rows))
	for i, r := range rows {
		jobs[i] = r.job()
	}
	return jobs, nil
}

// clip makes an error text storable: at most maxErrorLen bytes of valid
// UTF-8 without NUL, which Postgres text refuses.
func clip(s string) string {
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}

// Defer makes claimed job id due again at runAt and gives back the attempt
// its claim counted: the job was not tried (the receipt job defers a
// receipt whose send another worker may still be in). A job that does not
// exist or is dead is ENOTFOUND.
func (db *DB) Defer(ctx context.Context, id int64, runAt time.Time) error {
	const q = "UPDATE jobs SET run_at = ?, locked_until = NULL, attempts = attempts - 1" +
		" WHERE id = ? AND NOT dead AND attempts > 0"
	res, err := db.x.ExecContext(ctx, db.x.Rebind(q), db.ts(runAt), id)
	if err != nil {
		return wrap(err, "defer job %d", id)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrap(err, "defer job %d", id)
	} else if n == 0 {
		return stripesync.Errorf(stripesync.ENOTFOUND, "store: job %d does not exist or is dead", id)
	}
	return nil
}
