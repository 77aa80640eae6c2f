package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

// testOpsStatus checks the status report: the last run of each kind, the
// queue by kind with its dead letters and oldest waiting job, and the open
// failures.
func testOpsStatus(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	// The reconcile run is written as the reconcile command writes it:
	// Seen compared, Failed the drift, Pushed repaired.
	for i, kind := range []string{"accounts", "accounts", "payments", stripesync.RunKindReconcile} {
		run, err := db.StartRun(ctx, kind, start.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		run.Status, run.FinishedAt, run.Seen = stripesync.RunSucceeded, start.Add(time.Duration(i)*time.Minute+time.Second), i
		if kind == stripesync.RunKindReconcile {
			run.Status, run.Failed, run.Pushed = stripesync.RunPartial, 3, 1
		}
		if err := db.FinishRun(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range []stripesync.Job{{Kind: "crm.invoice", Key: "1"}, {Kind: "crm.invoice", Key: "2"}, {Kind: "receipt.send", Key: "3"}} {
		j.MaxAttempts = 1
		enqueue(t, db, j)
	}
	_, jobs := claim(t, db, "receipt.send", 1)
	if err := db.Fail(ctx, jobs[0].ID, errors.New("mail down"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordFailure(ctx, stripesync.Failure{Key: "payment:pi_1", Source: stripesync.FailureStaff, Created: start}); err != nil {
		t.Fatal(err)
	}
	st, err := db.OpsStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Runs) != 3 || st.Runs[0].Kind != "accounts" || st.Runs[0].Seen != 1 || st.Runs[1].Kind != "payments" || st.Runs[1].Status != stripesync.RunSucceeded {
		t.Errorf("last runs %+v, want the second accounts run, the payments run and the reconcile run", st.Runs)
	}
	if r, ok := st.LastRun(stripesync.RunKindReconcile); !ok || r.Failed != 3 || r.Seen != 3 {
		t.Errorf("last reconcile %+v (%v), want 3 compared with a drift of 3", r, ok)
	}
	if len(st.DeadLetters) != 1 || st.DeadLetters[0].ID != jobs[0].ID || st.DeadLetters[0].LastError != "mail down" ||
		st.DeadLetters[0].Attempts != 1 || st.DeadLetters[0].Kind != "receipt.send" {
		t.Errorf("dead letters %+v, want the failed receipt with its error and attempt", st.DeadLetters)
	}
	if n := st.DeadLetterCount(); n != 1 {
		t.Errorf("dead letter count %d, want 1", n)
	}
	want := map[string][2]int64{"crm.invoice": {2, 0}, "receipt.send": {0, 1}}
	if len(st.Queues) != 2 {
		t.Fatalf("queues %+v", st.Queues)
	}
	for _, q := range st.Queues {
		if w := want[q.Kind]; q.Waiting != w[0] || q.Dead != w[1] || (q.Waiting > 0) == q.Oldest.IsZero() {
			t.Errorf("queue %+v, want waiting %d, dead %d", q, w[0], w[1])
		}
	}
	if st.OpenFailures != 1 {
		t.Errorf("open failures %d, want 1", st.OpenFailures)
	}
}
