package store

import (
	"context"
	"time"

	"github.com/stripesync/stripesync"
)

// OpsStatus reads the status report: the last run of each kind, the queue
// by kind, the newest dead letters, the inbox backlog and the open
// failures. The process's own part (next runs, API traffic) is the
// caller's to add. A handful of grouped reads, cheap enough for a page an
// operator reloads.
func (db *DB) OpsStatus(ctx context.Context) (stripesync.OpsStatus, error) {
	var out stripesync.OpsStatus
	var runs []runRow
	const q = "SELECT id, kind, started_at, finished_at, status, seen, pushed, skipped, failed, error, cursor_from, cursor_to" +
		" FROM sync_runs WHERE id IN (SELECT MAX(id) FROM sync_runs GROUP BY kind) ORDER BY kind"
	if err := db.x.SelectContext(ctx, &runs, q); err != nil {
		return out, wrap(err, "read the last runs")
	}
	for _, r := range runs {
		out.Runs = append(out.Runs, r.run())
	}
	var queues []struct {
		Kind    string `db:"kind"`
		Waiting int64  `db:"waiting"`
		Oldest  dbTime `db:"oldest"`
		Dead    int64  `db:"dead"`
	}
	const qq = "SELECT kind, SUM(CASE WHEN dead THEN 0 ELSE 1 END) AS waiting," +
		" MIN(CASE WHEN dead THEN NULL ELSE created_at END) AS oldest, SUM(CASE WHEN dead THEN 1 ELSE 0 END) AS dead" +
		" FROM jobs GROUP BY kind ORDER BY kind"
	if err := db.x.SelectContext(ctx, &queues, qq); err != nil {
		return out, wrap(err, "read the queue")
	}
	for _, q := range queues {
		out.Queues = append(out.Queues, stripesync.QueueStatus{Kind: q.Kind, Waiting: q.Waiting, Oldest: time.Time(q.Oldest), Dead: q.Dead})
	}
	var err error
	if out.Backlog, err = db.InboxBacklog(ctx); err != nil {
		return out, err
	}
	if out.DeadLetters, err = db.DeadJobs(ctx, "", stripesync.DeadLetterLimit); err != nil {
		return out, err
	}
	err = db.x.GetContext(ctx, &out.OpenFailures, db.x.Rebind("SELECT COUNT(*) FROM failures WHERE status IN (?, ?)"),
		stripesync.FailureOpen, stripesync.FailureRetrying)
	return out, wrap(err, "count the open failures")
}
