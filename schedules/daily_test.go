package schedules_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/stripesync/stripesync/schedules"
)

// TestDaily runs a 06:00 New York job: not before its time, once on the
// day it comes, and again the next day, each day claimed once through the
// Locker, with the day's instant as the run's Tick.
func TestDaily(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 3, 5, 58, 30, 0, ny))
	locker := newMemLocker()
	s := newScheduler(t, schedules.Config{Clock: clock, Locker: locker})
	runs := make(chan time.Time, 10)
	if err := s.Daily("autopay", 6, 0, ny, time.Second, func(ctx context.Context) error {
		tick, _ := schedules.Tick(ctx)
		runs <- tick
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	none := func(when string) {
		t.Helper()
		waitReleased(t, locker)
		select {
		case tick := <-runs:
			t.Errorf("%s: a run for %v", when, tick)
		default:
		}
	}

	waitTimer(t, clock)
	clock.Advance(30 * time.Second) // 05:59
	none("at 05:59")
	waitTimer(t, clock)
	clock.Advance(time.Minute) // 06:00
	if got, want := receive(t, runs), time.Date(2026, 12, 3, 6, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("run for %v, want %v", got, want)
	}
	waitReleased(t, locker)
	waitTimer(t, clock)
	clock.Advance(time.Minute) // 06:01
	none("at 06:01, the day already run")
	waitTimer(t, clock)
	clock.Advance(24 * time.Hour)
	if got, want := receive(t, runs), time.Date(2026, 12, 4, 6, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("the next day's run for %v, want %v", got, want)
	}
	claims, _ := locker.state()
	var days []string
	for _, c := range claims {
		if strings.HasPrefix(c, "autopay:day@") {
			days = append(days, c)
		}
	}
	if len(days) != 2 || days[0] != "autopay:day@2026-12-03T11:00:00Z" || days[1] != "autopay:day@2026-12-04T11:00:00Z" {
		t.Errorf("days claimed %q", days)
	}
	if err := s.Daily("bad", 24, 0, ny, time.Second, func(context.Context) error { return nil }); err == nil {
		t.Error("24:00 was taken as a time of day")
	}
}
