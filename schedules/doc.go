// Package schedules runs the daemon's periodic jobs (account push, payment
// pull, …) on gocron v2.
//
// Ticks are aligned to multiples of a job's interval since the Unix epoch, so
// replicas started at different times agree on when a tick is. A job never
// overlaps itself: a tick that comes while the previous run is still going is
// skipped. With a [Locker] (store.DB on Postgres), a run happens only in the
// replica that holds the job's lock and is first to claim the tick, so each
// tick runs once cluster-wide. cmd/stripesync registers the jobs; the jobs
// are the same functions the CLI's one-shot commands call, apart from the
// daily [Prune], which lives here because nothing else runs it.
package schedules
