package main

import (
	"context"
	"flag"
	"fmt"
	"io"

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
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintln(stdout, "database is migrated:", a.db.Dialect())
	return nil
}

func cmdSync(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "accounts" {
		return fmt.Errorf("%w: stripesync sync accounts [--full]", errUsage)
	}
	fs := flag.NewFlagSet("sync accounts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	full := fs.Bool("full", false, "ignore the cursor and read every account (unchanged ones still cost no Stripe call)")
	cfg, err := loadConfig(fs, args[1:], getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()

	bar := newProgress(stderr, "accounts")
	run, err := a.engine.PushAccounts(ctx, syncer.PushOptions{Full: *full, Progress: bar.update})
	bar.done()
	if err != nil {
		return err
	}
	printRun(stdout, run)
	if run.Status != stripesync.RunSucceeded {
		return fmt.Errorf("account push ended %s: %s", run.Status, run.Error)
	}
	return nil
}

// printRun prints the summary of a run for people.
func printRun(w io.Writer, run stripesync.SyncRun) {
	fmt.Fprintf(w, "account push #%d %s in %s\n", run.ID, run.Status, run.FinishedAt.Sub(run.StartedAt).Round(1e6))
	fmt.Fprintf(w, "  seen %d, pushed %d, unchanged or skipped %d, failed %d\n", run.Seen, run.Pushed, run.Skipped, run.Failed)
	if !run.CursorTo.IsZero() {
		fmt.Fprintf(w, "  cursor %s\n", run.CursorTo.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	if run.Error != "" {
		fmt.Fprintf(w, "  %s\n", run.Error)
	}
}
