package schedules_test

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/stripesync/stripesync/schedules"
)

// TestNextRuns reports an Every job's next tick on the epoch grid and a
// Daily job's next time of day in its zone: today's before it, tomorrow's
// after it, not the minute check it waits with.
func TestNextRuns(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 3, 5, 7, 0, 0, ny))
	s := newScheduler(t, schedules.Config{Clock: clock})
	nothing := func(context.Context) error { return nil }
	if err := s.Every("accounts", 15*time.Minute, time.Second, nothing); err != nil {
		t.Fatal(err)
	}
	if err := s.Daily("autopay", 6, 0, ny, time.Second, nothing); err != nil {
		t.Fatal(err)
	}
	s.Start()
	var next map[string]time.Time
	deadline := time.Now().Add(5 * time.Second)
	for next = s.NextRuns(); len(next) < 2 && time.Now().Before(deadline); next = s.NextRuns() {
		time.Sleep(time.Millisecond)
	}
	if want := time.Date(2026, 12, 3, 5, 15, 0, 0, ny); !next["accounts"].Equal(want) {
		t.Errorf("accounts next %v, want %v", next["accounts"], want)
	}
	if want := time.Date(2026, 12, 3, 6, 0, 0, 0, ny); !next["autopay"].Equal(want) {
		t.Errorf("autopay next %v, want today's 06:00 %v", next["autopay"], want)
	}
	waitTimer(t, clock)
	clock.Advance(2 * time.Hour) // 07:07, the day's run has come
	if want := time.Date(2026, 12, 4, 6, 0, 0, 0, ny); !s.NextRuns()["autopay"].Equal(want) {
		t.Errorf("after 06:00 autopay next %v, want tomorrow's %v", s.NextRuns()["autopay"], want)
	}
}
