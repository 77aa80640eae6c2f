package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/receipts/smtptest"
	"github.com/stripesync/stripesync/salesforce"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
	syncer "github.com/stripesync/stripesync/sync"
)

func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	once := fs.Bool("once", false, "exit after the walkthrough instead of serving until Ctrl-C")
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
	mailDir := filepath.Join(dir, "mail")
	if err := os.MkdirAll(mailDir, 0o755); err != nil {
		return err
	}
	// Receipts go to a real SMTP server in this process, which saves each
	// message and its PDF in the demo folder.
	mail, err := smtptest.Start("127.0.0.1:0", smtptest.Options{Dir: mailDir, Logger: quiet})
	if err != nil {
		return err
	}
	defer mail.Close()
	signingKey := make([]byte, 32)
	if _, err := rand.Read(signingKey); err != nil {
		return err
	}
	// The demo's own world: emulator credentials, a fresh SQLite ledger in
	// its folder, a short schedule. Anything else comes from the
	// environment as usual.
	overlay := emu.env()
	overlay["STRIPESYNC_DATABASE_URL"] = "sqlite:" + filepath.Join(dir, "stripesync.db")
	overlay["STRIPESYNC_SMTP_URL"] = mail.URL()
	overlay["STRIPESYNC_MAIL_FROM"] = "billing@seller.example"
	overlay["STRIPE_WEBHOOK_SECRET"] = demoWebhookSecret
	overlay["STRIPESYNC_SIGNING_KEY"] = hex.EncodeToString(signingKey)
	overlay["STRIPESYNC_TRIGGER_SECRET"] = hex.EncodeToString(signingKey[:16])
	overlay["STRIPESYNC_BUSINESS_NAME"] = "Seller Supplies Inc."
	overlay["STRIPESYNC_BUSINESS_ADDRESS"] = "1 Harbor Way|Oakland, CA 94607|United States"
	// A one-shot demo takes any free port, so it runs beside a daemon; the
	// serving demo keeps the usual address. (Flags are parsed below, with
	// the configuration, hence the look at args.)
	if (slices.Contains(args, "--once") || slices.Contains(args, "-once")) && getenv("STRIPESYNC_LISTEN") == "" {
		// A port known before the daemon starts, because the payment
		// links it mails must name it.
		addr, err := freeLoopbackAddr()
		if err != nil {
			return err
		}
		overlay["STRIPESYNC_LISTEN"] = addr
	}
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
	logger.Info("starting", "version", version, "config", cfg)
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()

	ids := seedSample(emu, 50)
	fmt.Fprintf(stdout, "Salesforce emulator %s holds %d sample accounts; Stripe emulator at %s.\n\n", emu.sf.URL(), len(ids), emu.st.URL())

	fmt.Fprintln(stdout, "First push: every account is new.")
	if err := demoPush(ctx, a, emu, ids, ids, stdout); err != nil {
		return err
	}

	// Show the cheap path: two edits, one deletion, the rest unchanged.
	emu.sf.Update("Account", ids[0], map[string]any{"Name": "Acme Corporation (renamed)"})
	emu.sf.Update("Account", ids[1], map[string]any{"Billing_Email__c": "ap@globex.example"})
	emu.sf.Delete("Account", ids[2])
	fmt.Fprintln(stdout, "\nSecond push after renaming one account, changing one e-mail and deleting one account:")
	if err := demoPush(ctx, a, emu, ids, ids[:3], stdout); err != nil {
		return err
	}
	// Payments need the daemon serving: Stripe delivers its webhooks to it.
	f, err := startFront(cfg, logger)
	if err != nil {
		return err
	}
	defer f.close()
	addr := f.addr()
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	routed, served := make(chan struct{}), make(chan error, 1)
	go func() { served <- a.serve(serveCtx, f, func() { close(routed) }) }()
	select {
	case <-routed:
	case err := <-served:
		return err
	}
	if err := emu.st.AddWebhookEndpoint("http://"+addr+"/stripe/webhook", demoWebhookSecret); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nPayments: invoices pulled from the CRM, paid through Stripe, rolled up and written back.")
	if err := demoPayments(ctx, a, emu, mail, ids, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nPayment link: the customer pays on the daemon's pay page.")
	payURL, portalURL, err := demoPayLink(ctx, a, emu, mail, ids[4], dir, stdout)
	if err != nil {
		return err
	}
	if err := demoTrigger(ctx, emu, addr, overlay["STRIPESYNC_TRIGGER_SECRET"], ids[3], stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nDemo folder: %s\n  stripesync.db  the ledger\n  mail/          every e-mail (.eml) and its PDF\n  pay-page-receipt-*.pdf  the receipts the pay page led to\n", dir)
	fmt.Fprintf(stdout, "Pay page:  %s\nPortal:    %s\n", payURL, portalURL)
	if *once {
		stopServing()
		return <-served
	}
	fmt.Fprintf(stdout, "\nThe daemon is serving on http://%s (/healthz, /readyz, /metrics, /stripe/webhook) and pushes every %s.\n", addr, cfg.AccountSyncEvery)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	return <-served
}

// freeLoopbackAddr returns a loopback address with a port free right now.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// demoPush runs one push and prints, account by account, what happened.
// demoPush pushes the accounts, then shows the outcome of those in show
// (the ones the walkthrough touched) and the run's counts.
func demoPush(ctx context.Context, a *app, emu *emulators, ids, show []string, stdout io.Writer) error {
	emu.st.ResetRequests()
	run, err := a.engine.PushAccounts(ctx, syncer.PushOptions{})
	if err != nil {
		return err
	}
	links, err := a.db.AccountLinks(ctx, show)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ACCOUNT\tPOLICY\tRESULT")
	for _, id := range show {
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
	if rest := len(ids) - len(show); rest > 0 {
		fmt.Fprintf(stdout, "  (the other %d accounts did not change: no Stripe call)\n", rest)
	}
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

// demoWebhookSecret signs the Stripe emulator's webhooks in the demo.
const demoWebhookSecret = "whsec_stripesyncDemo0000000000"

// demoInvoice is one sample invoice and how it gets paid.
type demoInvoice struct {
	number, amount, currency string
	account                  int      // index into the sample accounts
	payments                 []int64  // minor units, by card unless ach
	ach                      bool     // pay the first amount by US bank account
	refund                   int64    // refunded from the first payment
	want                     string   // the status the CRM should end at
	methods                  []string // card test methods for the payments
}

var demoInvoices = []demoInvoice{
	{number: "INV-1001", amount: "120.00", currency: "USD", account: 0, payments: []int64{12000}, want: "Paid"},
	{number: "INV-1002", amount: "50.00", currency: "USD", account: 1, payments: []int64{2500, 2500}, methods: []string{"pm_card_visa", "pm_card_mastercard"}, want: "Paid"},
	{number: "INV-1003", amount: "80.00", currency: "USD", account: 5, payments: []int64{8000}, ach: true, want: "Paid"},
	{number: "INV-1004", amount: "60.00", currency: "USD", account: 6, payments: []int64{6000}, refund: 2000, want: "Partially Paid"},
	{number: "INV-1005", amount: "5000", currency: "JPY", account: 4, payments: []int64{5000}, want: "Paid"},
	{number: "INV-1006", amount: "75.00", currency: "USD", account: 3, want: "Open"},
}

// demoPayments creates the sample invoices in the CRM, pays them through
// the Stripe emulator (card in full, two partial payments, ACH, a refund,
// a zero-decimal currency), waits until the CRM shows the rollups and the
// receipts were mailed, and prints both.
func demoPayments(ctx context.Context, a *app, emu *emulators, mail *smtptest.Server, accounts []string, stdout io.Writer) error {
	links, err := a.db.AccountLinks(ctx, accounts)
	if err != nil {
		return err
	}
	invIDs := make([]string, len(demoInvoices))
	for i, d := range demoInvoices {
		invIDs[i] = emu.sf.Insert("Invoice__c", map[string]any{
			"Name": d.number, "Account__c": accounts[d.account], "Amount__c": d.amount,
			"CurrencyIsoCode": d.currency, "Status__c": "Open", "Due_Date__c": "2026-12-31",
		})
	}
	if _, err := a.engine.PullInvoices(ctx); err != nil {
		return err
	}
	receiptsWanted, refundsWanted := 0, 0
	for i, d := range demoInvoices {
		for j, amount := range d.payments {
			method := "pm_card_visa"
			switch {
			case j == 0 && d.ach:
				method = "pm_usBankAccount_success"
			case j < len(d.methods):
				method = d.methods[j]
			}
			pi, err := emu.st.Pay(stripetest.PayParams{
				Customer: links[accounts[d.account]].StripeID, Amount: amount, Currency: d.currency, PaymentMethod: method,
				Metadata: map[string]string{stripesync.MetadataInvoiceID: invIDs[i]},
			})
			if err != nil {
				return fmt.Errorf("pay %s: %w", d.number, err)
			}
			receiptsWanted++
			if d.ach && j == 0 {
				if err := emu.st.SettleACH(pi); err != nil {
					return err
				}
			}
			if d.refund > 0 && j == 0 {
				if err := emu.st.Refund(pi, d.refund); err != nil {
					return err
				}
				refundsWanted++
			}
		}
	}

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := mail.WaitMessages(wctx, receiptsWanted+refundsWanted); err != nil {
		return fmt.Errorf("waiting for %d receipts and %d refund notices: %w", receiptsWanted, refundsWanted, err)
	}
	for i, d := range demoInvoices {
		for {
			rec, _ := emu.sf.Get("Invoice__c", invIDs[i])
			if rec["Status__c"] == d.want {
				break
			}
			if wctx.Err() != nil {
				return fmt.Errorf("invoice %s is %v in the CRM, want %s", d.number, rec["Status__c"], d.want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  INVOICE\tACCOUNT\tTOTAL\tPAID\tBALANCE\tSTATUS (CRM)\tPAYMENTS")
	for i, d := range demoInvoices {
		inv, roll, err := a.db.Invoice(ctx, invIDs[i])
		if err != nil {
			return err
		}
		acct, _ := emu.sf.Get("Account", accounts[d.account])
		rec, _ := emu.sf.Get("Invoice__c", invIDs[i])
		ps, err := a.db.Payments(ctx, invIDs[i])
		if err != nil {
			return err
		}
		var desc []string
		for _, p := range ps {
			s := fmt.Sprintf("%s %s %s", p.Amount.Decimal(), p.MethodDetail, p.CRMStatus())
			if p.ReceiptNumber != "" {
				s += " " + p.ReceiptNumber
			}
			desc = append(desc, s)
		}
		fmt.Fprintf(tw, "  %s\t%v\t%s\t%s\t%s\t%v\t%s\n", d.number, acct["Name"], inv.Total, roll.Paid.Decimal(), roll.Balance.Decimal(), rec["Status__c"], strings.Join(desc, "; "))
	}
	tw.Flush()
	refunds := 0
	for _, m := range mail.Messages() {
		if strings.HasPrefix(m.Subject, "Refund of") {
			refunds++
		}
	}
	fmt.Fprintf(stdout, "  %d receipts and %d refund notice e-mailed to the customers' billing addresses.\n", len(mail.Messages())-refunds, refunds)
	return nil
}

// demoTrigger shows the real-time path: the workflow rule on Account that
// salesforce/ ships sends an Outbound Message when a pushed field is
// edited (and not for the daemon's write-backs), and the daemon pushes the
// change.
func demoTrigger(ctx context.Context, emu *emulators, addr, secret, account string, stdout io.Writer) error {
	wf, err := salesforce.ReadWorkflow(stripesync.ObjectAccount)
	if err != nil {
		return err
	}
	emu.sf.AddOutbound(crmtest.OutboundConfig{
		URL:    "http://" + addr + "/salesforce/outbound/" + secret,
		Object: stripesync.ObjectAccount, Fields: wf.OutboundMessages[0].Fields,
		OnWrite: true, Criteria: wf.Rules[0].Formula, RetryBase: 100 * time.Millisecond,
	})
	const name = "Umbrella Health (renamed in Salesforce)"
	start := time.Now()
	emu.sf.Update("Account", account, map[string]any{"Name": name})
	for {
		c := emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, account)
		if len(c) == 1 && c[0].Name == name {
			fmt.Fprintf(stdout, "\nReal time: an account renamed in Salesforce reached its Stripe customer %s through an Outbound Message in %s.\n",
				c[0].ID, time.Since(start).Round(time.Millisecond))
			return nil
		}
		if time.Since(start) > 15*time.Second || ctx.Err() != nil {
			return fmt.Errorf("the Outbound Message for %s did not reach Stripe", account)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
