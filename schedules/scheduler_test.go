package schedules_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/schedules"
)

// memLocker is an in-memory Locker for one process, with switches that
// play the part of other replicas.
type memLocker struct {
	mu        sync.Mutex
	held      map[string]bool
	claimed   map[string]bool
	claims    []string // "job@tick" in claim order
	busy      bool     // another replica holds every lock
	tickTaken bool     // another replica claimed every tick
}

func newMemLocker() *memLocker {
	return &memLocker{held: map[string]bool{}, claimed: map[string]bool{}}
}

func (l *memLocker) TryLock(_ context.Context, key string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy || l.held[key] {
		return nil, false, nil
	}
	l.held[key] = true
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, key)
	}, true, nil
}

func (l *memLocker) ClaimTick(_ context.Context, job string, tick time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := job + "@" + tick.UTC().Format(time.RFC3339Nano)
	if l.tickTaken || l.claimed[k] {
		return false, nil
	}
	l.claimed[k] = true
	l.claims = append(l.claims, k)
	return true, nil
}

func (l *memLocker) state() (claims []string, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.claims...), len(l.held)
}

// logBuffer collects JSON log lines written from the scheduler's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the log records whose msg starts with "scheduled job".
func (b *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, "scheduled job") {
			out = append(out, rec)
		}
	}
	return out
}

func newScheduler(t *testing.T, cfg schedules.Config) *schedules.Scheduler {
	t.Helper()
	s, err := schedules.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// waitTimer blocks until the scheduler has armed its timer on clock.
func waitTimer(t *testing.T, clock *clockwork.FakeClock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("no timer armed: %v", err)
	}
}

// waitReleased waits until no run holds a lock of locker, that is until
// the runs that held one have returned, and then a little longer: gocron
// frees a singleton job's slot just after its run returns, and nothing
// tells when.
func waitReleased(t *testing.T, locker *memLocker) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, held := locker.state(); held == 0 {
			time.Sleep(20 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a run still holds its lock")
		}
		time.Sleep(time.Millisecond)
	}
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a run")
		panic("unreachable")
	}
}

func TestTicksAlignToEpoch(t *testing.T) {
	// 20.25 s past a whole minute: an unaligned scheduler would run at
	// 1_700_000_080.25, a minute after the start.
	clock := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 250_000_000))
	locker := newMemLocker()
	s := newScheduler(t, schedules.Config{Clock: clock, Locker: locker})
	runs := make(chan time.Time, 10)
	if err := s.Every("accounts", time.Minute, time.Second, func(context.Context) error {
		runs <- clock.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()

	waitTimer(t, clock)
	clock.Advance(39*time.Second + 750*time.Millisecond)
	if got, want := receive(t, runs), time.Unix(1_700_000_040, 0); !got.Equal(want) {
		t.Errorf("first run at %v, want %v", got, want)
	}
	// The next tick must find the first run over: a singleton job still
	// running when its tick comes skips that tick.
	waitReleased(t, locker)
	waitTimer(t, clock)
	clock.Advance(time.Minute)
	if got, want := receive(t, runs), time.Unix(1_700_000_100, 0); !got.Equal(want) {
		t.Errorf("second run at %v, want %v", got, want)
	}

	claims, _ := locker.state()
	want := []string{"accounts@2023-11-14T22:14:00Z", "accounts@2023-11-14T22:15:00Z"}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claimed ticks (-want +got):\n%s", diff)
	}
}

func TestLockerDecides(t *testing.T) {
	tests := []struct {
		name              string
		busy, tickTaken   bool
		wantRun           bool
		wantLog, wantDrop string
	}{
		{name: "OK", wantRun: true, wantLog: "scheduled job finished"},
		{name: "LockHeldElsewhere", busy: true, wantLog: "scheduled job skipped: running elsewhere"},
		{name: "TickRunElsewhere", tickTaken: true, wantLog: "scheduled job skipped: tick already run elsewhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0).Add(-time.Millisecond))
			locker := newMemLocker()
			locker.busy, locker.tickTaken = tt.busy, tt.tickTaken
			logs := &logBuffer{}
			s := newScheduler(t, schedules.Config{
				Clock: clock, Locker: locker,
				Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			ran := make(chan struct{}, 1)
			if err := s.Every("payments", 10*time.Second, time.Second, func(context.Context) error {
				ran <- struct{}{}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			s.Start()
			waitTimer(t, clock)
			clock.Advance(time.Millisecond)
			// The tick is over once its log line is written.
			var rec map[string]any
			deadline := time.Now().Add(5 * time.Second)
			for rec == nil && time.Now().Before(deadline) {
				if recs := logs.records(t); len(recs) > 0 {
					rec = recs[0]
				} else {
					time.Sleep(5 * time.Millisecond)
				}
			}
			if rec == nil {
				t.Fatal("the tick logged nothing")
			}
			if rec["msg"] != tt.wantLog || rec["job"] != "payments" || rec["tick"] != "2023-11-14T22:13:20Z" {
				t.Errorf("log = %v, want msg %q for payments at 22:13:20", rec, tt.wantLog)
			}
			if got := len(ran) == 1; got != tt.wantRun {
				t.Errorf("ran = %v, want %v", got, tt.wantRun)
			}
			if _, held := locker.state(); held != 0 {
				t.Errorf("%d locks still held after the tick", held)
			}
		})
	}
}

func TestRunOutcomesAreLogged(t *testing.T) {
	tests := []struct {
		name      string
		run       func(ctx context.Context) error
		wantMsg   string
		wantLevel string
		wantError string
	}{
		{"Error", func(context.Context) error {
			return stripesync.Errorf(stripesync.EUNAVAILABLE, "stripe is down")
		}, "scheduled job failed", "ERROR", "stripe is down"},
		{"Timeout", func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("push: %w", ctx.Err())
		}, "scheduled job failed", "ERROR", "push: context deadline exceeded"},
		{"Panic", func(context.Context) error {
			panic("job exploded")
		}, "scheduled job failed", "ERROR", "panic: job exploded"},
		{"Canceled", func(context.Context) error {
			return fmt.Errorf("push: %w", context.Canceled)
		}, "scheduled job canceled", "INFO", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(time.Unix(1_700_000_000, 0).Add(-time.Millisecond))
			logs := &logBuffer{}
			s := newScheduler(t, schedules.Config{
				Clock:  clock,
				Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			done := make(chan struct{}, 1)
			if err := s.Every("accounts", 10*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
				defer func() { done <- struct{}{} }()
				return tt.run(ctx)
			}); err != nil {
				t.Fatal(err)
			}
			s.Start()
			waitTimer(t, clock)
			clock.Advance(time.Millisecond)
			receive(t, done)

			var rec map[string]any
			for deadline := time.Now().Add(5 * time.Second); rec == nil && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if recs := logs.records(t); len(recs) > 0 {
					rec = recs[0]
				}
			}
			if rec == nil {
				t.Fatal("nothing logged")
			}
			errText, _ := rec["error"].(string)
			if rec["msg"] != tt.wantMsg || rec["level"] != tt.wantLevel || !strings.HasPrefix(errText, tt.wantError) {
				t.Errorf("log = %v, want %s %q error %q", rec, tt.wantLevel, tt.wantMsg, tt.wantError)
			}
		})
	}
}

func TestEveryRejects(t *testing.T) {
	s := newScheduler(t, schedules.Config{})
	ok := func(context.Context) error { return nil }
	if err := s.Every("accounts", time.Hour, time.Minute, ok); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		job            string
		every, timeout time.Duration
		run            func(context.Context) error
		want           stripesync.ErrorCode
	}{
		{"NoName", "", time.Hour, time.Minute, ok, stripesync.EINVALID},
		{"ZeroInterval", "x", 0, time.Minute, ok, stripesync.EINVALID},
		{"NegativeTimeout", "x", time.Hour, -time.Second, ok, stripesync.EINVALID},
		{"NoFunction", "x", time.Hour, time.Minute, nil, stripesync.EINVALID},
		{"Duplicate", "accounts", time.Minute, time.Minute, ok, stripesync.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Every(tt.job, tt.every, tt.timeout, tt.run)
			if got := stripesync.CodeOf(err); got != tt.want {
				t.Errorf("Every(%q, %v, %v) = %v, want code %s", tt.job, tt.every, tt.timeout, err, tt.want)
			}
		})
	}
}

func TestRealClockAlignment(t *testing.T) {
	const every = 300 * time.Millisecond
	s := newScheduler(t, schedules.Config{})
	runs := make(chan time.Time, 10)
	if err := s.Every("accounts", every, time.Second, func(context.Context) error {
		runs <- time.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	var prev time.Time
	for i := range 3 {
		at := receive(t, runs)
		// Timers fire at or after the tick; allow half an interval of
		// scheduling delay on a busy machine.
		if off := time.Duration(at.UnixNano() % int64(every)); off > every/2 {
			t.Errorf("run %d at %v is %v past its tick", i, at, off)
		}
		if i > 0 && at.Sub(prev) < every/2 {
			t.Errorf("runs %v and %v are less than an interval apart", prev, at)
		}
		prev = at
	}
}

func TestSingleton(t *testing.T) {
	// Each run takes longer than two intervals; ticks in between are
	// skipped, never run alongside.
	s := newScheduler(t, schedules.Config{})
	var running, maxRunning, runs atomic.Int32
	if err := s.Every("slow", 100*time.Millisecond, time.Second, func(ctx context.Context) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		runs.Add(1)
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	time.Sleep(1200 * time.Millisecond)
	if got := maxRunning.Load(); got != 1 {
		t.Errorf("at most %d runs at once, want 1", got)
	}
	// 1.2 s of 250 ms runs, each starting on a 100 ms tick: 3 or 4 runs.
	if got := runs.Load(); got < 2 || got > 5 {
		t.Errorf("%d runs in 1.2 s, want about 4", got)
	}
}

func TestShutdownWaitsForRuns(t *testing.T) {
	s, err := schedules.New(schedules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var finished atomic.Bool
	var cause atomic.Value
	if err := s.Every("accounts", 50*time.Millisecond, time.Minute, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		cause.Store(ctx.Err())
		time.Sleep(100 * time.Millisecond) // cleanup after cancellation
		finished.Store(true)
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	receive(t, started)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if !finished.Load() {
		t.Error("Shutdown returned before the run finished")
	}
	if got, _ := cause.Load().(error); !errors.Is(got, context.Canceled) {
		t.Errorf("run ended with %v, want context.Canceled", got)
	}
}

func TestShutdownGivesUpAtDeadline(t *testing.T) {
	s, err := schedules.New(schedules.Config{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	if err := s.Every("stuck", 50*time.Millisecond, time.Minute, func(context.Context) error {
		close(started)
		<-release // ignores its context
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	receive(t, started)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err = s.Shutdown(ctx)
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
}
