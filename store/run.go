package store

import (
	"context"
	"time"

	"github.com/stripesync/stripesync"
)

// defaultListLimit is how many rows Runs and DeadJobs return when the
// caller passes no positive limit.
const defaultListLimit = 100

type runRow struct {
	ID         int64  `db:"id"`
	Kind       string `db:"kind"`
	StartedAt  dbTime `db:"started_at"`
	FinishedAt dbTime `db:"finished_at"`
	Status     string `db:"status"`
	Seen       int    `db:"seen"`
	Pushed     int    `db:"pushed"`
	Skipped    int    `db:"skipped"`
	Failed     int    `db:"failed"`
	Error      string `db:"error"`
	CursorFrom dbTime `db:"cursor_from"`
	CursorTo   dbTime `db:"cursor_to"`
}

func (r runRow) run() stripesync.SyncRun {
	return stripesync.SyncRun{
		ID:         r.ID,
		Kind:       r.Kind,
		StartedAt:  time.Time(r.StartedAt),
		FinishedAt: time.Time(r.FinishedAt),
		Status:     stripesync.RunStatus(r.Status),
		Seen:       r.Seen,
		Pushed:     r.Pushed,
		Skipped:    r.Skipped,
		Failed:     r.Failed,
		Error:      r.Error,
		CursorFrom: time.Time(r.CursorFrom),
		CursorTo:   time.Time(r.CursorTo),
	}
}

// StartRun records a new running SyncRun of kind started at at (now when
// zero) and returns it with its ID.
func (db *DB) StartRun(ctx context.Context, kind string, at time.Time) (stripesync.SyncRun, error) {
	if kind == "" {
		return stripesync.SyncRun{}, stripesync.Errorf(stripesync.EINVALID, "store: sync run has no kind")
	}
	if at.IsZero() {
		at = db.now()
	}
	run := stripesync.SyncRun{Kind: kind, StartedAt: at.UTC().Truncate(time.Microsecond), Status: stripesync.RunRunning}
	const q = "INSERT INTO sync_runs (kind, started_at, status) VALUES (?, ?, ?) RETURNING id"
	if err := db.x.QueryRowxContext(ctx, db.x.Rebind(q), kind, db.ts(at), string(run.Status)).Scan(&run.ID); err != nil {
		return stripesync.SyncRun{}, wrap(err, "start %s run", kind)
	}
	return run, nil
}

// FinishRun stores the final state of run, matched by ID: every field but
// the ID is written. A zero FinishedAt is set to now. An unknown ID is
// ENOTFOUND; an unknown Status EINVALID.
func (db *DB) FinishRun(ctx context.Context, run stripesync.SyncRun) error {
	switch run.Status {
	case stripesync.RunRunning, stripesync.RunSucceeded, stripesync.RunPartial, stripesync.RunFailed:
	default:
		return stripesync.Errorf(stripesync.EINVALID, "store: sync run %d has unknown status %q", run.ID, run.Status)
	}
	if run.FinishedAt.IsZero() {
		run.FinishedAt = db.now()
	}
	const q = "UPDATE sync_runs SET kind = ?, started_at = ?, finished_at = ?, status = ?," +
		" seen = ?, pushed = ?, skipped = ?, failed = ?, error = ?, cursor_from = ?, cursor_to = ?" +
		" WHERE id = ?"
	res, err := db.x.ExecContext(ctx, db.x.Rebind(q),
		run.Kind, db.ts(run.StartedAt), db.ts(run.FinishedAt), string(run.Status),
		run.Seen, run.Pushed, run.Skipped, run.Failed, run.Error,
		db.ts(run.CursorFrom), db.ts(run.CursorTo), run.ID)
	if err != nil {
		return wrap(err, "finish run %d", run.ID)
	}
	return oneRow(res, "sync run %d", run.ID)
}

// Runs returns up to limit runs of kind ("" for every kind), newest first
// (by start, then ID). A limit of zero or less means 100.
func (db *DB) Runs(ctx context.Context, kind string, limit int) ([]stripesync.SyncRun, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	q := "SELECT id, kind, started_at, finished_at, status, seen, pushed, skipped, failed, error, cursor_from, cursor_to FROM sync_runs"
	var args []any
	if kind != "" {
		q += " WHERE kind = ?"
		args = append(args, kind)
	}
	q += " ORDER BY started_at DESC, id DESC LIMIT ?"
	var rows []runRow
	if err := db.x.SelectContext(ctx, &rows, db.x.Rebind(q), append(args, limit)...); err != nil {
		return nil, wrap(err, "list runs")
	}
	runs := make([]stripesync.SyncRun, len(rows))
	for i, r := range rows {
		runs[i] = r.run()
	}
	return runs, nil
}
