package schedules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/stripesync/stripesync"
)

// Config holds the Scheduler's dependencies.
type Config struct {
	// Logger receives job failures (error level) and skipped ticks (debug).
	// Nil discards them.
	Logger *slog.Logger

	// Locker makes each tick run once across processes. Nil means this is
	// the only process (SQLite): every tick runs here.
	Locker Locker

	// Clock drives the ticks. Nil means the real clock; tests pass a fake.
	Clock clockwork.Clock
}

// Scheduler runs named jobs at aligned ticks. Jobs are added with Every,
// before or after Start.
type Scheduler struct {
	cron   gocron.Scheduler
	logger *slog.Logger
	locker Locker
	clock  clockwork.Clock

	mu    sync.Mutex
	names map[string]bool
	// daily tells a Daily job's next run, by name (see NextRuns).
	daily    map[string]func(now time.Time) time.Time
	stopping bool           // set by Shutdown: no new run starts
	running  sync.WaitGroup // runs in progress, which Shutdown waits for
}

// New creates a stopped Scheduler.
func New(cfg Config) (*Scheduler, error) {
	s := &Scheduler{
		logger: cfg.Logger,
		locker: cfg.Locker,
		clock:  cfg.Clock,
		names:  map[string]bool{},
		daily:  map[string]func(time.Time) time.Time{},
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	cron, err := gocron.NewScheduler(
		gocron.WithClock(s.clock),
		gocron.WithLocation(time.UTC),
		gocron.WithLogger(s.logger),
		// Shutdown waits for runs itself, bounded by its ctx; gocron's own
		// wait is a busy loop with a fixed timeout, so keep it minimal.
		gocron.WithStopTimeout(time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	s.cron = cron
	return s, nil
}

// Every runs run at every tick of every: at the multiples of every since the
// Unix epoch (so every 15m runs at :00, :15, :30, :45 UTC). Each run gets a
// context that ends after timeout or when Shutdown begins. A tick that comes
// while the previous run is still going is skipped. name identifies the job in
// logs and is its lock key; names must be unique.
func (s *Scheduler) Every(name string, every, timeout time.Duration, run func(ctx context.Context) error) error {
	switch {
	case name == "":
		return stripesync.Errorf(stripesync.EINVALID, "schedules: job name is empty")
	case every <= 0:
		return stripesync.Errorf(stripesync.EINVALID, "schedules: job %s: interval %s is not positive", name, every)
	case timeout <= 0:
		return stripesync.Errorf(stripesync.EINVALID, "schedules: job %s: timeout %s is not positive", name, timeout)
	case run == nil:
		return stripesync.Errorf(stripesync.EINVALID, "schedules: job %s: no function", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names[name] {
		return stripesync.Errorf(stripesync.ECONFLICT, "schedules: job %s is already scheduled", name)
	}
	j := job{name: name, every: every, timeout: timeout, run: run}
	_, err := s.cron.NewJob(
		gocron.DurationJob(every),
		gocron.NewTask(func(ctx context.Context) { s.runTick(ctx, j) }),
		gocron.WithName(name),
		// gocron advances a past start by whole intervals to the first tick
		// not before now, which keeps every tick on the epoch grid.
		gocron.WithStartAt(gocron.WithStartDateTimePast(alignDown(s.clock.Now(), every))),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	)
	if err != nil {
		return fmt.Errorf("schedules: job %s: %w", name, err)
	}
	s.names[name] = true
	return nil
}

// Start starts the timers. It does not block.
func (s *Scheduler) Start() { s.cron.Start() }

// Shutdown stops the timers, cancels the contexts of the runs in progress and
// waits for them to return, or for ctx to end, whichever comes first.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()

	if err := s.cron.ShutdownWithContext(ctx); err != nil && !errors.Is(err, gocron.ErrStopJobsTimedOut) {
		return fmt.Errorf("schedules: shutdown: %w", err)
	}
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("schedules: shutdown: jobs still running: %w", ctx.Err())
	}
}

// begin registers a run with Shutdown's wait, unless Shutdown has begun.
func (s *Scheduler) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.running.Add(1)
	return true
}
