package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

// cmdAutoPay runs auto-pay now, as the daily job does: every invoice due
// today with auto-pay on is charged to its customer's default method.
// --dry-run lists what would be charged, and why other invoices are
// skipped, without charging or recording anything. The exit status is 1
// when a charge failed or could not be tried.
func cmdAutoPay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("autopay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "list what would be charged, charging nothing")
	cfg, err := loadConfig(fs, args, getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: stripesync autopay [--dry-run]", errUsage)
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	run, err := a.engine.AutoPay(ctx, *dryRun)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INVOICE\tAMOUNT\tACTION\tDETAIL")
	for _, r := range run.Results {
		amount := "—"
		if r.Amount.Currency != "" {
			amount = r.Amount.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Number, amount, r.Action, r.Detail)
	}
	tw.Flush()
	if err != nil {
		return err
	}
	if !*dryRun {
		writeBack(ctx, a, stderr)
		fmt.Fprintf(stdout, "%d due: %d charged, %d failed or retrying, %d skipped\n", run.Run.Seen, run.Run.Pushed, run.Run.Failed, run.Run.Skipped)
		if run.Run.Failed > 0 {
			return fmt.Errorf("%d auto-pay charges did not go through: stripesync failures list shows them", run.Run.Failed)
		}
	}
	return nil
}
