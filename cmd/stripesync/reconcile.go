package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/stripesync/stripesync"
	syncer "github.com/stripesync/stripesync/sync"
)

// errDrift is the outcome of a reconcile that found drift it did not
// repair: exit status 1, after the report.
var errDrift = errors.New("drift found")

// cmdReconcile runs `stripesync reconcile [--since T] [--repair] [--json]`:
// exit 0 when Stripe, the ledger and the CRM agree (or --repair fixed
// every difference), 1 when drift remains or the comparison could not
// finish, 2 for a bad flag or configuration.
func cmdReconcile(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.String("since", "", "compare only the payments created, and the CRM records changed, since this time (RFC 3339) or this long ago (e.g. 720h)")
	repair := fs.Bool("repair", false, "fix the drift the daemon owns (never deletes anything in Stripe or the CRM)")
	asJSON := fs.Bool("json", false, "print one JSON document instead of the table")
	cfg, err := loadConfig(fs, args, getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	var from time.Time
	if *since != "" {
		if from, err = parseSince(*since, time.Now()); err != nil {
			return fmt.Errorf("%w: --since: %v", errUsage, err)
		}
	}
	bar := newProgress(stderr, "reconcile")
	a, err := openApp(ctx, cfg, newLogger(cfg, bar.logs()))
	if err != nil {
		return err
	}
	defer a.Close()
	rep, err := a.engine.Reconcile(ctx, a.reconcileSources(), syncer.ReconcileOptions{
		Since: from, Repair: *repair,
		Progress: func(compared, drift int) { bar.update(stripesync.SyncRun{Seen: compared, Failed: drift}) },
	})
	bar.done()
	if err != nil {
		return err
	}
	if *asJSON {
		err = writeReconcileJSON(stdout, rep)
	} else {
		err = writeReconcileTable(stdout, rep)
	}
	switch {
	case err != nil:
		return err
	case rep.Run.Status != stripesync.RunSucceeded:
		return fmt.Errorf("reconcile run #%d ended %s: %s", rep.Run.ID, rep.Run.Status, rep.Run.Error)
	case rep.Unrepaired() > 0:
		return fmt.Errorf("%w: %d item(s) not repaired", errDrift, rep.Unrepaired())
	}
	return nil
}

// reconcileSources are the app's clients as reconcile's lists.
func (a *app) reconcileSources() syncer.ReconcileSources {
	return syncer.ReconcileSources{Stripe: a.billing, CRM: a.crm, Ledger: a.db}
}

// reconcileJSON is the --json document.
type reconcileJSON struct {
	RunID      int64                    `json:"run_id"`
	Status     stripesync.RunStatus     `json:"status"`
	Error      string                   `json:"error,omitempty"`
	StartedAt  time.Time                `json:"started_at"`
	FinishedAt time.Time                `json:"finished_at"`
	Compared   map[string]int           `json:"compared"`
	Counts     map[syncer.DriftKind]int `json:"drift_counts"`
	DriftTotal int                      `json:"drift_total"`
	Repaired   int                      `json:"repaired"`
	Unrepaired int                      `json:"unrepaired"`
	Drift      []syncer.Drift           `json:"drift"`
}

func writeReconcileJSON(w io.Writer, rep syncer.ReconcileReport) error {
	doc := reconcileJSON{
		RunID: rep.Run.ID, Status: rep.Run.Status, Error: rep.Run.Error,
		StartedAt: rep.Run.StartedAt, FinishedAt: rep.Run.FinishedAt,
		Compared: rep.Compared, Counts: rep.Counts(), DriftTotal: len(rep.Drift),
		Repaired: rep.Run.Pushed, Unrepaired: rep.Unrepaired(), Drift: rep.Drift,
	}
	if doc.Drift == nil {
		doc.Drift = []syncer.Drift{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func writeReconcileTable(w io.Writer, rep syncer.ReconcileReport) error {
	run := rep.Run
	fmt.Fprintf(w, "reconcile run #%d %s in %s: compared %d (payments %d, payment records %d, invoices %d, customers %d, links %d, accounts %d)\n",
		run.ID, run.Status, run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond), run.Seen,
		rep.Compared["payments"], rep.Compared["payment_records"], rep.Compared["invoices"], rep.Compared["customers"], rep.Compared["links"], rep.Compared["accounts"])
	if run.Error != "" {
		fmt.Fprintf(w, "  %s\n", run.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DRIFT\tCOUNT")
	counts := rep.Counts()
	for _, k := range syncer.DriftKinds {
		fmt.Fprintf(tw, "%s\t%d\n", k, counts[k])
	}
	fmt.Fprintf(tw, "total\t%d (repaired %d, left %d)\n", len(rep.Drift), run.Pushed, rep.Unrepaired())
	if len(rep.Drift) > 0 {
		fmt.Fprintln(tw, "\nKIND\tID\tREPAIRED\tDETAIL")
		for _, d := range rep.Drift {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", d.Kind, d.ID, d.Repaired, d.Detail)
		}
	}
	return tw.Flush()
}

// scheduledReconcile is the STRIPESYNC_RECONCILE_EVERY job: a report
// without repair, whose drift goes to the run log and the
// stripesync_reconcile_drift gauges; repairing is for a person running
// `stripesync reconcile --repair` after reading it.
func (a *app) scheduledReconcile(ctx context.Context) error {
	rep, err := a.engine.Reconcile(ctx, a.reconcileSources(), syncer.ReconcileOptions{})
	return runError(rep.Run, err)
}
