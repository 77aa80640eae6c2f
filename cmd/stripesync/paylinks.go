package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/stripesync/stripesync/staff"
	syncer "github.com/stripesync/stripesync/sync"
)

// cmdLink issues (and with --email mails) or revokes an invoice's payment
// links, and writes the result to the CRM before it returns. With
// --portal it prints a portal link of an account instead.
func cmdLink(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	invoice := fs.String("invoice", "", "the CRM invoice id (Invoice__c)")
	email := fs.Bool("email", false, "also e-mail the link to the account's billing address")
	revoke := fs.Bool("revoke", false, "revoke every link issued so far and clear Payment_Link__c")
	portal := fs.String("portal", "", "print a customer portal link of this CRM account (Account) instead")
	cfg, err := loadConfig(fs, args, getenv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	switch {
	case (*invoice == "") == (*portal == "") || fs.NArg() > 0 || (*portal != "" && (*email || *revoke)):
		return fmt.Errorf("%w: stripesync link (--invoice ID [--email] [--revoke] | --portal ACCOUNT)", errUsage)
	case *revoke && *email:
		return fmt.Errorf("%w: --revoke and --email do not go together", errUsage)
	case cfg.SigningKey == "":
		return &ConfigError{Problems: []string{"STRIPESYNC_SIGNING_KEY is required to sign payment links"}}
	case *email && cfg.SMTPURL == "":
		return fmt.Errorf("%w: --email needs STRIPESYNC_SMTP_URL", errUsage)
	}
	a, err := openApp(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	if *portal != "" {
		url, expires, err := a.engine.PortalLink(ctx, *portal)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, url)
		fmt.Fprintf(stderr, "expires %s\n", expires.UTC().Format(time.RFC3339))
		return nil
	}
	if *revoke {
		if err := a.engine.RevokePaymentLinks(ctx, *invoice); err != nil {
			return err
		}
		if _, err := a.engine.WriteBack(ctx); err != nil {
			return fmt.Errorf("links revoked, but Payment_Link__c is not cleared yet (the daemon retries): %w", err)
		}
		fmt.Fprintf(stdout, "payment links of invoice %s revoked\n", *invoice)
		return nil
	}
	l, err := a.engine.IssuePaymentLink(ctx, syncer.LinkRequest{InvoiceID: *invoice, Email: *email})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, l.URL)
	fmt.Fprintf(stderr, "expires %s\n", l.ExpiresAt.UTC().Format(time.RFC3339))
	if _, err := a.engine.WriteBack(ctx); err != nil {
		fmt.Fprintf(stderr, "the link is not in the CRM yet (the daemon retries): %v\n", err)
	}
	if *email {
		if _, err := a.engine.SendPaymentLinks(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "e-mail queued; it is retried by the daemon if the mail server refused it")
	}
	return nil
}

// cmdStaff manages the staff token file: add NAME prints a new token
// once; list prints the names.
func cmdStaff(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "stripesync staff (add NAME | list | remove NAME) [--file PATH]"
	fs := flag.NewFlagSet("staff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "the staff token file (env STRIPESYNC_STAFF_TOKENS_FILE)")
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	sub := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	path := *file
	if path == "" {
		path = getenv("STRIPESYNC_STAFF_TOKENS_FILE")
	}
	if path == "" {
		return &ConfigError{Problems: []string{"STRIPESYNC_STAFF_TOKENS_FILE (or --file) names no staff token file"}}
	}
	switch {
	case sub == "add" && fs.NArg() == 1:
		token, err := staff.Add(path, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
		fmt.Fprintf(stderr, "token for %s added to %s; it is shown only this once\n", fs.Arg(0), path)
		return nil
	case sub == "remove" && fs.NArg() == 1:
		if err := staff.Remove(path, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "token of %s removed from %s\n", fs.Arg(0), path)
		return nil
	case sub == "list" && fs.NArg() == 0:
		entries, err := staff.Load(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			fmt.Fprintln(stdout, e.Name)
		}
		return nil
	}
	return fmt.Errorf("%w: %s", errUsage, use)
}
