package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/stripesync/stripesync"
	syncer "github.com/stripesync/stripesync/sync"
)

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv, Needs{})
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stdout, "database is migrated:", db.Dialect())
	return nil
}

func cmdSync(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "accounts" && args[0] != "payments") {
		return fmt.Errorf("%w: stripesync sync accounts [--full] | stripesync sync payments [--since T]", errUsage)
	}
	fs := flag.NewFlagSet("sync "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Each subcommand has its own flag; the other's is refused as unknown
	// rather than accepted and ignored.
	var full bool
	var since string
	if args[0] == "accounts" {
		fs.BoolVar(&full, "full", false, "ignore the cursor and read every account (unchanged ones still cost no Stripe call)")
	} else {
		fs.StringVar(&since, "since", "", "look back to this time (RFC 3339) or this long ago (e.g. 72h) instead of the cursor")
	}
	cfg, err := loadConfig(fs, args[1:], getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	var from time.Time
	if since != "" {
		if from, err = parseSince(since, time.Now()); err != nil {
			return fmt.Errorf("%w: --since: %v", errUsage, err)
		}
	}
	// The account push draws a progress bar; its logs go above it.
	bar := newProgress(stderr, "accounts")
	logs := stderr
	if args[0] == "accounts" {
		logs = bar.logs()
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, logs))
	if err != nil {
		return err
	}
	defer a.Close()

	var runs []stripesync.SyncRun
	if args[0] == "accounts" {
		var push stripesync.SyncRun
		push, err = a.engine.PushAccounts(ctx, syncer.PushOptions{Full: full, Progress: bar.update})
		bar.done()
		runs = append(runs, push)
		if err == nil && push.Status != stripesync.RunFailed {
			// Invoices are read with the accounts, as the hourly job does.
			var pull stripesync.SyncRun
			if pull, err = a.engine.PullInvoices(ctx); err == nil {
				runs = append(runs, pull)
				err = a.drainWriteBack(ctx)
			}
		}
	} else {
		var pull stripesync.SyncRun
		if pull, err = a.engine.PullPayments(ctx, syncer.PullOptions{Since: from}); err == nil {
			runs = append(runs, pull)
			// Deliver what the pull recorded before exiting.
			err = a.drainWriteBack(ctx)
		}
	}
	if err != nil {
		return err
	}
	// Every run decides the exit status: the invoice pull that follows a
	// partial push must not hide the push's failures.
	var failed []error
	for _, run := range runs {
		printRun(stdout, run)
		if run.Status != stripesync.RunSucceeded {
			failed = append(failed, fmt.Errorf("%s run ended %s: %s", run.Kind, run.Status, run.Error))
		}
	}
	return errors.Join(failed...)
}

// parseSince reads --since: an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}

// drainWriteBack runs the CRM write-back and the receipts until their
// queues hold nothing due, for one-shot commands.
func (a *app) drainWriteBack(ctx context.Context) error {
	for {
		n, err := a.engine.WriteBack(ctx)
		if err != nil {
			return err
		}
		if a.receiptSender != nil {
			m, err := a.engine.SendReceipts(ctx)
			if err != nil {
				return err
			}
			n += m
		}
		if n == 0 {
			return nil
		}
	}
}

// printRun prints the summary of a run for people.
func printRun(w io.Writer, run stripesync.SyncRun) {
	fmt.Fprintf(w, "%s run #%d %s in %s\n", run.Kind, run.ID, run.Status, run.FinishedAt.Sub(run.StartedAt).Round(1e6))
	fmt.Fprintf(w, "  seen %d, pushed %d, skipped %d (no Stripe call: unchanged, ignored or unbound), failed %d\n", run.Seen, run.Pushed, run.Skipped, run.Failed)
	if !run.CursorTo.IsZero() {
		fmt.Fprintf(w, "  cursor %s\n", run.CursorTo.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if run.Error != "" {
		fmt.Fprintf(w, "  %s\n", run.Error)
	}
}
