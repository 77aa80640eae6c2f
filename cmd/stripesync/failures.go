package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/stripesync/stripesync"
)

// cmdFailures reads and acts on the failure inbox: `failures list
// [--status open|retrying|resolved|dismissed|all]`, `failures retry ID`
// (charge the customer's default method again, as the API's retry does)
// and `failures dismiss ID [--note …]`, as the operator's login.
func cmdFailures(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usageLine = "stripesync failures list [--status open|retrying|resolved|dismissed|all] | retry ID | dismiss ID [--note TEXT]"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, usageLine)
	}
	verb := args[0]
	fs := flag.NewFlagSet("failures "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	status := fs.String("status", "open", "list only failures in this status, or all")
	note := fs.String("note", "", "why the failure is dismissed, for its history")
	cfg, err := loadConfig(fs, args[1:], getenv, Needs{Stripe: verb == "retry", Salesforce: verb == "retry"})
	if err != nil {
		return err
	}
	var id int64
	switch {
	case verb == "list" && fs.NArg() == 0:
	case (verb == "retry" || verb == "dismiss") && fs.NArg() == 1:
		if id, err = parseID(fs.Arg(0), "a failure id (a number, as failures list shows)"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: %s", errUsage, usageLine)
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	var f stripesync.Failure
	switch verb {
	case "list":
		filter := stripesync.FailureFilter{Status: stripesync.FailureStatus(*status), Limit: 500}
		if *status == "all" {
			filter.Status = ""
		}
		list, err := a.db.ListFailures(ctx, filter)
		if err != nil {
			return err
		}
		printFailures(stdout, list)
		return nil
	case "retry":
		f, err = a.engine.RetryFailure(ctx, id, cliStaff(getenv))
		writeBack(ctx, a, stderr)
	case "dismiss":
		f, err = a.engine.DismissFailure(ctx, id, cliStaff(getenv), *note)
	}
	if err != nil {
		return err
	}
	printFailures(stdout, []stripesync.Failure{f})
	return nil
}

// printFailures writes a table of failures, newest first as given.
func printFailures(w io.Writer, list []stripesync.Failure) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSOURCE\tINVOICE\tAMOUNT\tCODE\tUPDATED\tNEXT STEP")
	for _, f := range list {
		amount := "—"
		if f.Amount.Currency != "" {
			amount = f.Amount.String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.Status, f.Source, f.InvoiceID, amount, f.Code,
			f.Updated.UTC().Format(time.DateTime), f.NextStep)
	}
	tw.Flush()
}
