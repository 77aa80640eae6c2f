package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// Credentials the emulators accept. They are fixed so that a developer can
// keep them in a shell profile; they open nothing but a local emulator.
const (
	emuOrgID        = "00D000000000001EAA"
	emuClientID     = "stripesync-dev-client"
	emuClientSecret = "stripesync-dev-secret"
	emuStripeKey    = "sk_test_stripesyncEmulator"
)

// emulators are the two stand-ins for Salesforce and Stripe.
type emulators struct {
	sf *crmtest.Server
	st *stripetest.Server
}

func startEmulators(sfAddr, stAddr string, stripeRate float64, latency time.Duration, logger *slog.Logger) (*emulators, error) {
	sf := crmtest.New(crmtest.Options{
		OrgID: emuOrgID, ClientID: emuClientID, ClientSecret: emuClientSecret,
		Latency: latency, Logger: logger.With("component", "salesforce-emulator"),
	})
	if err := sf.Start(sfAddr); err != nil {
		return nil, fmt.Errorf("start the Salesforce emulator: %w", err)
	}
	st := stripetest.New(stripetest.Options{
		RateLimit: stripeRate, Latency: latency, Logger: logger.With("component", "stripe-emulator"),
	})
	if err := st.Start(stAddr); err != nil {
		sf.Close()
		return nil, fmt.Errorf("start the Stripe emulator: %w", err)
	}
	return &emulators{sf: sf, st: st}, nil
}

func (e *emulators) Close() {
	e.sf.Close()
	e.st.Close()
}

// env is the configuration that points the daemon at the emulators.
func (e *emulators) env() map[string]string {
	return map[string]string{
		"SALESFORCE_LOGIN_URL":     e.sf.URL(),
		"SALESFORCE_CLIENT_ID":     emuClientID,
		"SALESFORCE_CLIENT_SECRET": emuClientSecret,
		"SALESFORCE_ORG_ID":        emuOrgID,
		"STRIPE_API_BASE":          e.st.URL(),
		"STRIPE_SECRET_KEY":        emuStripeKey,
		// The staff console's card form loads the emulator's Stripe.js
		// stand-in, which makes cards in the emulator.
		"STRIPE_JS_URL":          e.st.URL() + "/v3/",
		"STRIPE_PUBLISHABLE_KEY": e.st.PublishableKey(),
	}
}

func cmdEmulate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("emulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sfAddr := fs.String("salesforce-addr", "127.0.0.1:8081", "address of the Salesforce emulator")
	stAddr := fs.String("stripe-addr", "127.0.0.1:12111", "address of the Stripe emulator")
	rate := fs.Float64("stripe-rate", 0, "Stripe emulator rate limit in requests per second (0 = none)")
	latency := fs.Duration("latency", 0, "latency added to every emulator response")
	accounts := fs.Int("accounts", 50, "sample accounts to seed in the Salesforce emulator")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // -h: the usage was printed; exit 0 like every other -h
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	emu, err := startEmulators(*sfAddr, *stAddr, *rate, *latency, logger)
	if err != nil {
		return err
	}
	defer emu.Close()
	seedSample(emu, *accounts)

	fmt.Fprintf(stdout, "Salesforce emulator: %s (%d sample accounts)\n", emu.sf.URL(), emu.sf.Count("Account"))
	fmt.Fprintf(stdout, "Stripe emulator:     %s\n\n", emu.st.URL())
	fmt.Fprintln(stdout, "Point the daemon at them with:")
	for _, k := range sortedKeys(emu.env()) {
		fmt.Fprintf(stdout, "  export %s=%s\n", k, emu.env()[k])
	}
	fmt.Fprintln(stdout, "\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}
