// Command stripesync is the daemon that keeps Salesforce and Stripe in sync.
// Run "stripesync help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `stripesync keeps Salesforce accounts and Stripe customers in sync.

Usage:
  stripesync serve                   HTTP API, schedules and workers (the daemon)
  stripesync demo [--once]           the daemon against built-in emulators with sample data
  stripesync emulate                 serve the Salesforce and Stripe emulators for local development
  stripesync migrate                 apply database migrations
  stripesync sync accounts [--full]  push changed CRM accounts to Stripe now
  stripesync sync payments [--since T]  pull Stripe payments into the ledger and the CRM now
  stripesync reconcile [--since T] [--repair] [--json]
                                     compare Stripe, the ledger and the CRM; exit 1 on drift;
                                     --repair fixes what the daemon owns (never deletes)
  stripesync receipt --payment ID [-o FILE | --resend]
                                     a payment's receipt: its link, the PDF, or mail it again
  stripesync link --invoice ID [--email | --revoke]
                                     print a new payment link (written to Payment_Link__c,
                                     with --email also mailed), or revoke every link issued
  stripesync link --portal ACCOUNT   print a customer portal link of a CRM account
  stripesync pay --invoice ID --amount 25.00 (--payment-method pm_… | --ach-routing R --ach-account A
      --holder-type individual|company --holder-name NAME)
                                     take a phone payment as the staff API does (bank details
                                     wait for their micro-deposits)
  stripesync verify --payment-method pm_… (--amounts 32,45 | --code SM11AA)
                                     report a bank account's micro-deposits; the debit starts
  stripesync autopay [--dry-run]     charge the invoices due today with auto-pay on, as the
                                     daily job does; --dry-run lists what would be charged
  stripesync failures list [--status open|retrying|resolved|dismissed|all]
  stripesync failures retry ID | dismiss ID [--note TEXT]
                                     the failure inbox: list it, charge a failed payment's
                                     invoice to the customer's default method again, or close it
  stripesync jobs list [--kind KIND] | retry ID | retry --all KIND | drop ID
                                     the queue's dead letters (attempts, last error): back in
                                     the queue, or dropped for good
  stripesync staff add NAME          make a staff API token (printed once; its hash is kept)
  stripesync staff list              the names in STRIPESYNC_STAFF_TOKENS_FILE
  stripesync staff remove NAME       delete NAME's token: it stops working at once
  stripesync version                 print the version

Configuration comes from the environment (STRIPESYNC_*, STRIPE_*, SALESFORCE_*);
flags override it. "stripesync COMMAND -h" lists a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// errUsage marks a mistake in the command line; run answers it with exit 2.
var errUsage = errors.New("usage")

// run is the whole program behind main, with its inputs injected so tests
// can drive it. It returns the exit code: 0 success, 1 failure, 2 bad
// configuration or usage.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, getenv, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "emulate":
		err = cmdEmulate(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "sync":
		err = cmdSync(ctx, rest, getenv, stdout, stderr)
	case "reconcile":
		err = cmdReconcile(ctx, rest, getenv, stdout, stderr)
	case "receipt":
		err = cmdReceipt(ctx, rest, getenv, stdout, stderr)
	case "link":
		err = cmdLink(ctx, rest, getenv, stdout, stderr)
	case "staff":
		err = cmdStaff(ctx, rest, getenv, stdout, stderr)
	case "pay":
		err = cmdPay(ctx, rest, getenv, stdout, stderr)
	case "verify":
		err = cmdVerify(ctx, rest, getenv, stdout, stderr)
	case "failures":
		err = cmdFailures(ctx, rest, getenv, stdout, stderr)
	case "autopay":
		err = cmdAutoPay(ctx, rest, getenv, stdout, stderr)
	case "jobs":
		err = cmdJobs(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "stripesync", version)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "stripesync: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var cfgErr *ConfigError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &cfgErr):
		fmt.Fprintln(stderr, err)
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "stripesync:", err)
		return 2
	}
	fmt.Fprintln(stderr, "stripesync:", err)
	return 1
}
