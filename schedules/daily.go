package schedules

import (
	"context"
	gosync "sync"
	"time"

	"github.com/stripesync/stripesync"
)

// dailyCheck is how often a daily job looks whether its time has come: it
// starts within this of its time, and a process started later that day
// runs it at once.
const dailyCheck = time.Minute

// Daily runs run once a day, cluster-wide, at hour:minute in loc (or at
// the first check after it: a daemon started at 09:00 runs a 06:00 job at
// once), counting days in loc so that a change to or from summer time
// moves the run with the clock on the wall. The run's Tick is the day's
// scheduled instant. Several replicas share the day through the Locker;
// without one (SQLite: one process) the scheduler remembers the last day.
func (s *Scheduler) Daily(name string, hour, minute int, loc *time.Location, timeout time.Duration, run func(ctx context.Context) error) error {
	if hour < 0 || hour > 23 || minute < 0 || minute > 59 || loc == nil {
		return stripesync.Errorf(stripesync.EINVALID, "schedules: job %s: %02d:%02d is not a time of day", name, hour, minute)
	}
	var mu gosync.Mutex
	var last time.Time // the last day run here, for a Scheduler without a Locker
	err := s.Every(name, dailyCheck, timeout, func(ctx context.Context) error {
		now := s.clock.Now().In(loc)
		y, m, d := now.Date()
		due := time.Date(y, m, d, hour, minute, 0, 0, loc)
		if now.Before(due) {
			return nil
		}
		day := due.UTC()
		if s.locker != nil {
			first, err := s.locker.ClaimTick(ctx, name+":day", day)
			if err != nil || !first {
				return err
			}
		} else {
			mu.Lock()
			ran := !last.Before(day)
			last = day
			mu.Unlock()
			if ran {
				return nil
			}
		}
		return run(context.WithValue(ctx, tickKey{}, day))
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.daily[name] = func(now time.Time) time.Time { return nextDaily(now, hour, minute, loc) }
	s.mu.Unlock()
	return nil
}
