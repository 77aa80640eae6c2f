package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/metrics"
	"github.com/stripesync/stripesync/schedules"
	"github.com/stripesync/stripesync/stripeclient"
	syncer "github.com/stripesync/stripesync/sync"
)

// webhookTolerance is how old a signed webhook may be: Stripe's default.
const webhookTolerance = 300 * time.Second

// triggerWindow is how long a record's first trigger waits for more
// triggers of the same record to coalesce with: short enough for a
// real-time push, long enough to fold a burst of saves into one.
const triggerWindow = 50 * time.Millisecond

// pruneTimeout bounds one daily prune. Deleting a day's worth of settled
// rows takes seconds; a run still going after this is stuck behind a lock,
// and the next day's run deletes what it left.
const pruneTimeout = 10 * time.Minute

// autoPayTimeout bounds a daily auto-pay run: 10,000 due invoices take
// under two minutes at Stripe's live rate, and a run cut short is finished
// by the next day's under the same idempotency keys.
const autoPayTimeout = 2 * time.Hour

// httpWriteTime is how long a handler has to answer once the request is
// read (the write deadline counts from the start of the read): a receipt
// PDF or a pay page takes milliseconds, a webhook a group commit.
const httpWriteTime = 30 * time.Second

// httpIdleTimeout closes a keep-alive connection no request has used for
// that long, so idle clients do not pile up.
const httpIdleTimeout = 60 * time.Second

// shutdownGrace bounds how long a SIGTERM waits for requests and a running
// job to finish.
const shutdownGrace = 30 * time.Second

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	logger.Info("starting", "version", version, "config", cfg)
	// Listen first: the probes answer while the database is awaited.
	f, err := startFront(cfg, logger)
	if err != nil {
		return err
	}
	defer f.close()
	db, err := waitForStore(ctx, cfg, logger)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting: a normal stop
		}
		return err
	}
	a, err := newApp(ctx, cfg, logger, db)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.serve(ctx, f, nil)
}

// serve routes f to the HTTP API and runs the schedules and workers until
// ctx ends, then shuts them down gracefully. routed, if set, is called once
// the API answers on f.
func (a *app) serve(ctx context.Context, f *front, routed func()) error {
	a.logger.Info("serving", "stripe_mode", a.billing.Mode())
	if err := a.reclaim(ctx); err != nil {
		return err
	}
	var locker schedules.Locker
	if a.db.Dialect() == "postgres" {
		// Several replicas may share this database: each tick runs once
		// cluster-wide. SQLite is single-process by design.
		locker = a.db
	}
	sched, err := schedules.New(schedules.Config{Logger: a.logger.With("component", "schedules"), Locker: locker})
	if err != nil {
		return err
	}
	err = sched.Every("accounts", a.cfg.AccountSyncEvery, a.cfg.AccountSyncEvery, a.pushAccountsAndPullInvoices)
	if err != nil {
		return err
	}
	err = sched.Every("payments", a.cfg.PaymentSyncEvery, a.cfg.PaymentSyncEvery, func(ctx context.Context) error {
		return runError(a.engine.PullPayments(ctx, syncer.PullOptions{}))
	})
	if err != nil {
		return err
	}
	if a.cfg.ReconcileEvery > 0 {
		if err := sched.Every("reconcile", a.cfg.ReconcileEvery, a.cfg.ReconcileEvery, a.scheduledReconcile); err != nil {
			return err
		}
	}
	prune, err := schedules.Prune(schedules.PruneConfig{
		Store:     a.db,
		Retention: a.cfg.EventRetention,
		Logger:    a.logger.With("component", "prune"),
		OnPruned:  a.metrics.Pruned,
	})
	if err != nil {
		return err
	}
	if err := sched.Every("prune", schedules.PruneEvery, pruneTimeout, prune); err != nil {
		return err
	}
	err = sched.Daily("autopay", a.cfg.AutoPayHour, a.cfg.AutoPayMinute, a.cfg.location(), autoPayTimeout, func(ctx context.Context) error {
		run, err := a.engine.AutoPay(ctx, false)
		a.logger.InfoContext(ctx, "auto-pay run", "invoices", run.Run.Seen, "charged", run.Run.Pushed, "failed", run.Run.Failed, "skipped", run.Run.Skipped)
		return err
	})
	if err != nil {
		return err
	}

	hcfg := httpapi.Config{
		Logger:     a.logger.With("component", "http"),
		Ready:      a.db.Heartbeat,
		Metrics:    metrics.Handler(a.registry),
		ReceiptPDF: a.receiptPDF,
		Status:     &httpapi.StatusConfig{Read: a.statusReader(sched), Version: version, Started: time.Now()},
	}
	a.registry.MustRegister(metrics.NewStatusCollector(hcfg.Status.Read, version, nil))
	if err := a.staffRoutes(&hcfg); err != nil {
		return err
	}
	pages, err := a.pages()
	if err != nil {
		return err
	}
	if pages != nil {
		hcfg.Pages = pages
	}
	if a.cfg.StripeWebhookSecret != "" {
		secrets := []string{a.cfg.StripeWebhookSecret}
		hcfg.Webhook = &httpapi.WebhookConfig{
			Verify: func(payload []byte, signature string) (stripesync.Event, error) {
				return stripeclient.VerifyWebhook(payload, signature, secrets, webhookTolerance, time.Now())
			},
			Accept:   a.db.AcceptEvent,
			Accepted: a.engine.NotifyEvents,
			// The events of other Stripe accounts (a Connect endpoint
			// sends every connected account's) are dropped, and counted.
			Account: a.cfg.StripeAccount,
			Ignored: func(string) { a.metrics.EventIgnored(metrics.IgnoredOtherAccount) },
		}
	} else {
		a.logger.Warn("STRIPE_WEBHOOK_SECRET is not set: POST /stripe/webhook is off; payments arrive with the pull only")
	}
	if a.cfg.TriggerSecret != "" {
		hcfg.Triggers = &httpapi.TriggerConfig{
			Secret:   a.cfg.TriggerSecret,
			OrgID:    a.cfg.SalesforceOrgID,
			Objects:  map[string]bool{stripesync.ObjectAccount: true, stripesync.ObjectInvoice: true},
			Outbound: crm.OutboundCodec{},
			Accept:   a.db.WithTriggerWindow(triggerWindow).AcceptTriggers,
			Accepted: a.engine.NotifyTriggers,
		}
	} else {
		a.logger.Warn("STRIPESYNC_TRIGGER_SECRET is not set: the Outbound Message and trigger endpoints are off")
	}
	f.route(httpapi.NewServer(hcfg))
	if routed != nil {
		routed()
	}
	sched.Start()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.engine.RunWorkers(gctx) })
	if a.cfg.PprofListen != "" {
		g.Go(func() error {
			return servePprof(gctx, a.cfg.PprofListen, func(addr string) {
				a.logger.Info("serving profiles", "addr", addr)
			})
		})
	}
	g.Go(func() error { return <-f.served })
	g.Go(func() error {
		<-gctx.Done()
		a.logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		return errors.Join(f.srv.Shutdown(sctx), sched.Shutdown(sctx))
	})
	err = g.Wait()
	a.logger.Info("stopped")
	return err
}

// reclaim registers this process as the claimer of the work its workers
// take, and ends the leases of the daemons that died holding work, before
// any worker claims: without it, what a crashed daemon held (a job, the
// events waiting in the read lane, a trigger) would wait 1 to 2 minutes
// for its lease to run out. On SQLite the registration is the file's lock,
// so a second daemon on the same file stops here with an error. Any other
// failure only costs the speed of recovery, not correctness (leases still
// run out), so the daemon starts anyway: a database it cannot write to for
// now is the readiness probe's to report.
func (a *app) reclaim(ctx context.Context) error {
	if err := a.db.Register(ctx); err != nil {
		if stripesync.CodeOf(err) == stripesync.ECONFLICT {
			return fmt.Errorf("register this process: %w", err)
		}
		a.logger.Warn("cannot register this process; work a crashed daemon held waits for its leases to run out", "error", err)
		return nil
	}
	r, err := a.db.ReclaimDead(ctx)
	if err != nil {
		a.logger.Warn("cannot reclaim the leases of dead processes; the work they held waits for them to run out", "error", err)
		return nil
	}
	a.logger.Info("reclaimed the leases of dead processes", "jobs", r.Jobs, "events", r.Events, "triggers", r.Triggers, "receipts", r.Receipts)
	return nil
}

// pushAccountsAndPullInvoices is the hourly job: accounts first, so that
// invoices find their accounts' customers, then invoices. The invoice pull
// runs whatever the push's outcome, as it does in sync accounts: a few
// accounts that failed to push are no reason to leave every invoice stale.
func (a *app) pushAccountsAndPullInvoices(ctx context.Context) error {
	pushed := runError(a.engine.PushAccounts(ctx, syncer.PushOptions{}))
	return errors.Join(pushed, runError(a.engine.PullInvoices(ctx)))
}

// runError turns a run that did not succeed into an error for the
// scheduler's log.
func runError(run stripesync.SyncRun, err error) error {
	if err != nil {
		return err
	}
	if run.Error != "" {
		return fmt.Errorf("%s run %d ended %s: %s", run.Kind, run.ID, run.Status, run.Error)
	}
	return nil
}
