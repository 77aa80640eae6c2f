package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// parseID reads the id argument of a subcommand: a positive number; what
// says what it names, for the usage error.
func parseID(arg, what string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("%w: %q is not %s", errUsage, arg, what)
	}
	return id, nil
}

// cmdJobs shows and acts on the queue's dead letters, the jobs that used
// all their attempts: `jobs list [--kind K]` with each one's attempts and
// last error, `jobs retry ID`, `jobs retry --all KIND` (back in the queue,
// due now, attempts counted afresh) and `jobs drop ID` (deleted for good).
func cmdJobs(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const usageLine = "stripesync jobs list [--kind KIND] | retry ID | retry --all KIND | drop ID"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, usageLine)
	}
	verb := args[0]
	fs := flag.NewFlagSet("jobs "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	kind := fs.String("kind", "", "list only dead letters of this kind (crm.payment, crm.invoice, receipt.send, …)")
	all := fs.String("all", "", "retry every dead letter of this kind")
	cfg, err := loadConfig(fs, args[1:], getenv, Needs{})
	if err != nil {
		return err
	}
	var id int64
	switch {
	case verb == "list" && fs.NArg() == 0:
	case verb == "retry" && *all != "" && fs.NArg() == 0:
	case (verb == "retry" || verb == "drop") && *all == "" && fs.NArg() == 1:
		if id, err = parseID(fs.Arg(0), "a job id (a number, as jobs list shows)"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: %s", errUsage, usageLine)
	}
	db, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case verb == "list":
		dead, err := db.DeadJobs(ctx, *kind, 500)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tKEY\tATTEMPTS\tENQUEUED\tLAST ERROR")
		for _, j := range dead {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", j.ID, j.Kind, j.Key, j.Attempts, j.CreatedAt.UTC().Format(time.DateTime), j.LastError)
		}
		return tw.Flush()
	case *all != "":
		n, err := db.ReviveJobs(ctx, *all)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d dead %s jobs are back in the queue\n", n, *all)
	case verb == "retry":
		if err := db.ReviveJob(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "job %d is back in the queue\n", id)
	default:
		if err := db.DropJob(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "job %d dropped\n", id)
	}
	return nil
}
