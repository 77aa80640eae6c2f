package schedules

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stripesync/stripesync"
)

// PruneEvery is the prune job's interval. Ticks align to the epoch, so it
// runs at midnight UTC, and once cluster-wide like every job.
const PruneEvery = 24 * time.Hour

// Pruner forgets the inboxes' settled rows. store.DB implements it.
type Pruner interface {
	// PruneEvents deletes the Stripe events processed before before;
	// unprocessed ones are never deleted.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
	// PruneTriggers forgets the CRM triggers settled before before;
	// pending ones are never deleted.
	PruneTriggers(ctx context.Context, before time.Time) (int64, error)
	// PruneRequests forgets the staff API's Idempotency-Keys of requests
	// started before before.
	PruneRequests(ctx context.Context, before time.Time) (int64, error)
	// PruneSessions forgets the console sessions last seen before
	// before, long expired by then.
	PruneSessions(ctx context.Context, before time.Time) (int64, error)
}

// The inboxes the prune job reports to PruneConfig.OnPruned.
const (
	InboxEvents   = "events"
	InboxTriggers = "triggers"
	InboxRequests = "requests"
	InboxSessions = "sessions"
)

// PruneConfig configures the job returned by Prune.
type PruneConfig struct {
	// Store is pruned. Required.
	Store Pruner
	// Retention is how long a processed event or a settled trigger is
	// kept as the de-duplication memory: a run deletes what was done more
	// than Retention before it started. Required, positive; the caller
	// decides how short is safe (cmd/stripesync refuses less than Stripe's
	// webhook retry period).
	Retention time.Duration
	// Logger receives a line for each run that deleted something. Nil
	// discards.
	Logger *slog.Logger
	// OnPruned is told, after each inbox is pruned, how many rows were
	// deleted from it (InboxEvents, InboxTriggers, InboxRequests,
	// InboxSessions). Nil means nobody.
	OnPruned func(inbox string, n int64)
	// Clock tells a run's time. Nil means the real clock; tests pass the
	// scheduler's fake.
	Clock clockwork.Clock
}

// Prune returns the prune job, to be registered with
// Every("prune", PruneEvery, …). Each run prunes every inbox, each even
// when one before it fails, and returns every failure. A missing Store or
// a non-positive Retention is EINVALID.
func Prune(cfg PruneConfig) (func(ctx context.Context) error, error) {
	switch {
	case cfg.Store == nil:
		return nil, stripesync.Errorf(stripesync.EINVALID, "schedules: prune job has no store")
	case cfg.Retention <= 0:
		return nil, stripesync.Errorf(stripesync.EINVALID, "schedules: prune retention %s is not positive", cfg.Retention)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnPruned == nil {
		cfg.OnPruned = func(string, int64) {}
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	return func(ctx context.Context) error {
		before := cfg.Clock.Now().Add(-cfg.Retention)
		var errs []error
		for _, p := range []struct {
			inbox string
			prune func(context.Context, time.Time) (int64, error)
		}{
			{InboxEvents, cfg.Store.PruneEvents},
			{InboxTriggers, cfg.Store.PruneTriggers},
			{InboxRequests, cfg.Store.PruneRequests},
			{InboxSessions, cfg.Store.PruneSessions},
		} {
			n, err := p.prune(ctx, before)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			cfg.OnPruned(p.inbox, n)
			if n > 0 {
				cfg.Logger.InfoContext(ctx, "inbox pruned", "inbox", p.inbox, "rows_deleted", n, "before", before)
			}
		}
		return errors.Join(errs...)
	}, nil
}
