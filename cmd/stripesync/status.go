package main

import (
	"context"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/schedules"
)

// statusReader reads the status report: the store's part (runs, queues,
// dead letters, inboxes, failures), which every replica shares, and this
// process's (sched's next runs, the Stripe client's traffic, the CRM's
// last reported API usage).
func (a *app) statusReader(sched *schedules.Scheduler) func(ctx context.Context) (stripesync.OpsStatus, error) {
	return func(ctx context.Context) (stripesync.OpsStatus, error) {
		st, err := a.db.OpsStatus(ctx)
		if err != nil {
			return st, err
		}
		st.NextRuns, st.Stripe = sched.NextRuns(), a.billing.Traffic()
		st.Salesforce.Used, st.Salesforce.Allocation = a.crm.Usage()
		return st, nil
	}
}
