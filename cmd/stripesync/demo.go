package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
	syncer "github.com/stripesync/stripesync/sync"
)

func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	once := fs.Bool("once", false, "exit after the pushes instead of serving until Ctrl-C")
	quiet := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	emu, err := startEmulators("127.0.0.1:0", "127.0.0.1:0", 0, 0, quiet)
	if err != nil {
		return err
	}
	defer emu.Close()
	dir, err := os.MkdirTemp("", "stripesync-demo-")
	if err != nil {
		return err
	}
	// The demo's own world: emulator credentials, a fresh SQLite ledger in
	// its folder, a short schedule. Anything else comes from the
	// environment as usual.
	overlay := emu.env()
	overlay["STRIPESYNC_DATABASE_URL"] = "sqlite:" + filepath.Join(dir, "stripesync.db")
	if getenv("STRIPESYNC_ACCOUNT_SYNC_EVERY") == "" {
		overlay["STRIPESYNC_ACCOUNT_SYNC_EVERY"] = "1m"
	}
	if getenv("STRIPESYNC_LOG_FORMAT") == "" {
		overlay["STRIPESYNC_LOG_FORMAT"] = "text"
	}
	if getenv("STRIPESYNC_LOG_LEVEL") == "" {
		overlay["STRIPESYNC_LOG_LEVEL"] = "warn"
	}
	demoEnv := func(k string) string {
		if v, ok := overlay[k]; ok {
			return v
		}
		return getenv(k)
	}
	cfg, err := loadConfig(fs, args, demoEnv, Needs{Stripe: true, Salesforce: true})
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()

	ids := seedSample(emu, 50)
	fmt.Fprintf(stdout, "Salesforce emulator %s holds %d sample accounts; Stripe emulator at %s.\n\n", emu.sf.URL(), len(ids), emu.st.URL())

	fmt.Fprintln(stdout, "First push: every account is new.")
	if err := demoPush(ctx, a, emu, ids, stdout); err != nil {
		return err
	}

	// Show the cheap path: two edits, one deletion, the rest unchanged.
	emu.sf.Update("Account", ids[0], map[string]any{"Name": "Acme Corporation (renamed)"})
	emu.sf.Update("Account", ids[1], map[string]any{"Billing_Email__c": "ap@globex.example"})
	emu.sf.Delete("Account", ids[2])
	fmt.Fprintln(stdout, "\nSecond push after renaming one account, changing one e-mail and deleting one account:")
	if err := demoPush(ctx, a, emu, ids, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nLedger: %s\n", filepath.Join(dir, "stripesync.db"))
	if *once {
		return nil
	}
	return a.serve(ctx, func(addr string) {
		fmt.Fprintf(stdout, "\nThe daemon is serving on http://%s (/healthz, /readyz, /metrics) and pushes every %s.\n", addr, cfg.AccountSyncEvery)
		fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	})
}

// demoPush runs one push and prints, account by account, what happened.
func demoPush(ctx context.Context, a *app, emu *emulators, ids []string, stdout io.Writer) error {
	emu.st.ResetRequests()
	run, err := a.engine.PushAccounts(ctx, syncer.PushOptions{})
	if err != nil {
		return err
	}
	links, err := a.db.AccountLinks(ctx, ids)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ACCOUNT\tPOLICY\tRESULT")
	for _, id := range ids {
		rec, _ := emu.sf.Get("Account", id)
		l := links[id]
		result := string(l.State)
		switch {
		case l.State == stripesync.LinkBound:
			result = "→ " + l.StripeID
		case l.State == stripesync.LinkUnbound:
			result = "unbound (deleted in the CRM; customer " + l.StripeID + " kept in Stripe)"
		case l.LastError != "":
			result = "error: " + l.LastError
		}
		policy, _ := rec["Stripe_Mapping__c"].(string)
		if policy == "" {
			policy = "Create"
		}
		fmt.Fprintf(tw, "  %v\t%s\t%s\n", rec["Name"], policy, result)
	}
	tw.Flush()
	printRun(stdout, run)
	fmt.Fprintf(stdout, "  Stripe calls: %d; customers in Stripe: %d\n", len(emu.st.Requests()), len(emu.st.Customers()))
	return nil
}

var sampleCompanies = []string{
	"Acme Corporation", "Globex", "Initech", "Umbrella Health", "Hooli", "Stark Industries",
	"Wayne Enterprises", "Wonka Confections", "Soylent Foods", "Cyberdyne Systems", "Tyrell Corp",
	"Oscorp", "Vandelay Industries", "Gringotts Trust", "Monsters Inc", "Duff Brewing",
	"Pied Piper", "Massive Dynamic", "Aperture Labs", "Black Mesa", "Dunder Mifflin",
	"Prestige Worldwide", "Sterling Cooper", "Bluth Company", "Los Pollos Hermanos",
}

var sampleCities = []struct{ city, state, zip, country, currency string }{
	{"Springfield", "IL", "62701", "US", "USD"},
	{"Portland", "OR", "97201", "US", "USD"},
	{"Toronto", "ON", "M5H 2N2", "CA", "CAD"},
	{"London", "", "EC1A 1BB", "GB", "GBP"},
	{"Tokyo", "", "100-0001", "JP", "JPY"},
}

// seedSample fills the emulators with n sample accounts that exercise every
// policy: most are Create, some are Existing (bound to customers that
// already exist in Stripe), one is Existing with a customer id Stripe does
// not know (the error case), and a few are Ignore. It returns the CRM ids.
func seedSample(emu *emulators, n int) []string {
	ids := make([]string, 0, n)
	for i := range n {
		c := sampleCities[i%len(sampleCities)]
		name := sampleCompanies[i%len(sampleCompanies)]
		if i >= len(sampleCompanies) {
			name = fmt.Sprintf("%s %s", name, c.city)
		}
		f := map[string]any{
			"Name":              name,
			"Phone":             fmt.Sprintf("+1 555 01%02d", i%100),
			"Billing_Email__c":  fmt.Sprintf("billing%02d@example.com", i),
			"BillingStreet":     fmt.Sprintf("%d Market Street", 100+i),
			"BillingCity":       c.city,
			"BillingState":      c.state,
			"BillingPostalCode": c.zip,
			"BillingCountry":    c.country,
			"CurrencyIsoCode":   c.currency,
		}
		switch {
		case i == 7:
			f["Stripe_Mapping__c"] = "Existing"
			f["Stripe_Customer_Id__c"] = "cus_DemoDoesNotExist"
		case i%10 == 5:
			f["Stripe_Mapping__c"] = "Existing"
			f["Stripe_Customer_Id__c"] = emu.st.CreateCustomer(stripetest.Customer{Name: name + " (billing)"})
		case i%16 == 9:
			f["Stripe_Mapping__c"] = "Ignore"
		}
		ids = append(ids, emu.sf.Insert("Account", f))
	}
	return ids
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
