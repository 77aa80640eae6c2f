package schedules

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// job is one registered periodic function.
type job struct {
	name    string
	every   time.Duration
	timeout time.Duration
	run     func(ctx context.Context) error
}

// alignDown returns the last multiple of every since the Unix epoch at or
// before t. Every replica must count from the same origin; time.Truncate
// would count from year 1, which is no origin anything else uses.
func alignDown(t time.Time, every time.Duration) time.Time {
	ns := t.UnixNano()
	return time.Unix(0, ns-ns%int64(every)).UTC()
}

type tickKey struct{}

// Tick returns the scheduled time a job's run is for, from the context
// the scheduler gives the job: the tick claimed cluster-wide, which a run
// that starts late would not find from its own clock.
func Tick(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(tickKey{}).(time.Time)
	return t, ok
}

// runTick is what gocron calls at each tick; ctx ends when the scheduler
// shuts down.
func (s *Scheduler) runTick(ctx context.Context, j job) {
	if !s.begin() {
		return
	}
	defer s.running.Done()

	tick := alignDown(s.clock.Now(), j.every)
	logger := s.logger.With("job", j.name, "tick", tick)
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, tickKey{}, tick), j.timeout)
	defer cancel()

	if s.locker != nil {
		release, ok, err := s.locker.TryLock(ctx, j.name)
		if err != nil {
			logger.ErrorContext(ctx, "scheduled job not run: lock failed", "error", err)
			return
		}
		if !ok {
			logger.DebugContext(ctx, "scheduled job skipped: running elsewhere")
			return
		}
		defer release()
		first, err := s.locker.ClaimTick(ctx, j.name, tick)
		if err != nil {
			logger.ErrorContext(ctx, "scheduled job not run: claiming the tick failed", "error", err)
			return
		}
		if !first {
			logger.DebugContext(ctx, "scheduled job skipped: tick already run elsewhere")
			return
		}
	}

	start := time.Now()
	err := call(ctx, j.run)
	d := time.Since(start)
	switch {
	case err == nil:
		logger.DebugContext(ctx, "scheduled job finished", "duration_ms", d.Milliseconds())
	case errors.Is(err, context.Canceled):
		logger.InfoContext(ctx, "scheduled job canceled", "duration_ms", d.Milliseconds())
	default:
		logger.ErrorContext(ctx, "scheduled job failed", "duration_ms", d.Milliseconds(), "error", err)
	}
}

// call runs f, turning a panic into an error so that one bad run is logged
// like any failure and the next tick still comes.
func call(ctx context.Context, f func(ctx context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return f(ctx)
}
