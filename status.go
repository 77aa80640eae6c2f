package stripesync

import "time"

// QueueStatus is one kind of queued job as the status report shows it.
type QueueStatus struct {
	Kind    string
	Waiting int64     // not done and not dead: due, running or retrying
	Oldest  time.Time // the oldest waiting one's enqueue time; zero for none
	Dead    int64     // dead letters, for a person (stripesync jobs)
}

// OpsStatus is what operators need to see the daemon working without
// reading logs: the last run of each scheduled job, the queues with their
// dead letters, the inboxes' backlog and the open failures.
type OpsStatus struct {
	Runs         []SyncRun // the last run of each kind, by kind
	Queues       []QueueStatus
	Backlog      Backlog
	OpenFailures int64
}
