package schedules

import (
	"context"
	"time"
)

// Locker makes a job run once per tick across several processes.
// store.DB implements it: a Postgres advisory lock and a claimed-ticks table,
// or an in-process lock on SQLite.
type Locker interface {
	// TryLock takes the lock named key without waiting. ok is false when
	// another holder has it. release must be called once the run ends.
	TryLock(ctx context.Context, key string) (release func(), ok bool, err error)
	// ClaimTick records that job runs for tick and reports whether this call
	// was the first to do so. The lock alone is not enough: a replica whose
	// timer fires after a fast run elsewhere released it would run the
	// tick again.
	ClaimTick(ctx context.Context, job string, tick time.Time) (bool, error)
}
