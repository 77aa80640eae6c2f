package schedules

import (
	"maps"
	"time"
)

// NextRuns returns when each job runs next, by name, for the status
// page: the next tick of an Every job, the next day's time of a Daily one
// (whose once-a-minute check is only how it waits). A job with no next run
// yet (the scheduler is not started) is left out.
func (s *Scheduler) NextRuns() map[string]time.Time {
	s.mu.Lock()
	daily := maps.Clone(s.daily)
	s.mu.Unlock()
	now := s.clock.Now()
	out := map[string]time.Time{}
	for _, j := range s.cron.Jobs() {
		if next, ok := daily[j.Name()]; ok {
			out[j.Name()] = next(now)
			continue
		}
		if t, err := j.NextRun(); err == nil && !t.IsZero() {
			out[j.Name()] = t.UTC()
		}
	}
	return out
}

// nextDaily is the first hour:minute in loc after now: today's, or
// tomorrow's once today's has come. Days count in loc, so the instant
// moves with summer time.
func nextDaily(now time.Time, hour, minute int, loc *time.Location) time.Time {
	local := now.In(loc)
	y, m, d := local.Date()
	due := time.Date(y, m, d, hour, minute, 0, 0, loc)
	if !local.Before(due) {
		due = time.Date(y, m, d+1, hour, minute, 0, 0, loc)
	}
	return due.UTC()
}
