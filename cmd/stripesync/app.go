package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/console"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/links"
	"github.com/stripesync/stripesync/metrics"
	"github.com/stripesync/stripesync/receipts"
	"github.com/stripesync/stripesync/staff"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/stripeclient"
	syncer "github.com/stripesync/stripesync/sync"
	"github.com/stripesync/stripesync/web"
)

// app is the wired daemon: every adapter built from one Config.
type app struct {
	cfg      Config
	logger   *slog.Logger
	registry *prometheus.Registry
	metrics  *metrics.Metrics
	db       *store.DB
	crm      *crm.Client
	billing  *stripeclient.Client
	engine   *syncer.Engine
	links    *receiptLinks
	// receiptSender mails receipts; nil when mail is off.
	receiptSender syncer.ReceiptSender
	// linkSigner signs payment and portal links; nil (links off) without
	// STRIPESYNC_SIGNING_KEY.
	linkSigner *links.Signer
	// collection takes customers' payments for the pages.
	collection *syncer.Collection
}

// newLogger builds the process logger from the configured format and level.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationsAsText}
	if strings.EqualFold(cfg.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// durationsAsText writes every duration as Go writes it ("1.5s", "720h0m0s"):
// the JSON handler would write nanoseconds, a number nobody reading the log
// takes for a timeout. Durations meant for arithmetic are logged as
// integers under a key ending in _ms.
func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// openApp opens the database (migrating it) and builds the adapters and the
// engine. The caller closes it.
func openApp(ctx context.Context, cfg Config, logger *slog.Logger) (*app, error) {
	db, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	return newApp(ctx, cfg, logger, db)
}

// newApp builds the adapters and the engine on an open, migrated db, and
// checks STRIPE_ACCOUNT when cfg asks for it (checkStripeAccount). It
// closes db when it fails; otherwise the caller closes the app.
func newApp(ctx context.Context, cfg Config, logger *slog.Logger, db *store.DB) (*app, error) {
	a := &app{cfg: cfg, logger: logger, registry: prometheus.NewRegistry(), db: db}
	a.metrics = metrics.New(a.registry)
	a.registry.MustRegister(metrics.NewBacklogCollector(db.InboxBacklog, nil))
	err := a.buildAdapters()
	if err == nil && cfg.CheckStripeAccount {
		err = checkStripeAccount(ctx, a.billing, cfg.StripeAccount, logger.With("component", "stripe"))
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openStore opens the database and applies the migrations: all that
// migrate needs, so it runs without Stripe or Salesforce credentials.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, logger.With("component", "store"))
	if err != nil {
		return nil, err
	}
	return migrated(ctx, db)
}

// migrated applies the migrations to db, and closes it when they fail.
func migrated(ctx context.Context, db *store.DB) (*store.DB, error) {
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return db, nil
}

func (a *app) buildAdapters() error {
	httpClient := &http.Client{Timeout: 60 * time.Second}
	sfCfg := crm.Config{
		LoginURL:     a.cfg.SalesforceLoginURL,
		ClientID:     a.cfg.SalesforceClientID,
		ClientSecret: a.cfg.SalesforceClientSecret,
		Username:     a.cfg.SalesforceUsername,
		APIVersion:   a.cfg.SalesforceAPIVersion,
		HTTPClient:   httpClient,
		Logger:       a.logger.With("component", "crm"),
		OnCall:       a.metrics.OnCall("salesforce"),
	}
	if a.cfg.MappingFile != "" {
		m, err := crm.LoadMapping(a.cfg.MappingFile)
		if err != nil {
			return err
		}
		sfCfg.Mapping = m
	}
	if a.cfg.SalesforcePrivateKeyFile != "" {
		pem, err := os.ReadFile(a.cfg.SalesforcePrivateKeyFile)
		if err != nil {
			return fmt.Errorf("read SALESFORCE_PRIVATE_KEY_FILE: %w", err)
		}
		key, err := crm.ParsePrivateKey(pem)
		if err != nil {
			return fmt.Errorf("SALESFORCE_PRIVATE_KEY_FILE: %w", err)
		}
		sfCfg.PrivateKey = key
	}
	var err error
	if a.crm, err = crm.New(sfCfg); err != nil {
		return err
	}
	a.billing, err = stripeclient.New(stripeclient.Config{
		Key:           a.cfg.StripeKey,
		BaseURL:       a.cfg.StripeAPIBase,
		Account:       a.cfg.StripeAccount,
		HTTPClient:    httpClient,
		RatePerSecond: a.cfg.StripeRate,
		Logger:        a.logger.With("component", "stripe"),
		OnCall:        a.metrics.OnCall("stripe"),
	})
	if err != nil {
		return err
	}
	links, ephemeral, err := newReceiptLinks(a.cfg.SigningKey, a.cfg.PublicURL)
	if err != nil {
		return err
	}
	if ephemeral {
		a.logger.Warn("STRIPESYNC_SIGNING_KEY is not set: receipt links are signed with a random key and stop working when the process restarts")
	}
	a.links = links
	var sender *receipts.Sender
	if a.cfg.SMTPURL != "" {
		mailer, err := receipts.NewMailer(receipts.MailConfig{URL: a.cfg.SMTPURL, From: a.cfg.MailFrom})
		if err != nil {
			return err
		}
		sender = &receipts.Sender{Mailer: mailer, Link: links.URL}
		a.receiptSender = sender
	}
	linkCfg, err := a.linkConfig(sender)
	if err != nil {
		return err
	}
	a.collection, err = syncer.NewCollection(syncer.CollectionConfig{
		Collector: a.billing, Billing: a.billing, Ledger: a.db, Payments: a.db, Accounts: a.db, Audit: a.db,
		Logger: a.logger.With("component", "collect"),
	})
	if err != nil {
		return err
	}
	a.engine, err = syncer.New(syncer.Config{
		CRM:           a.crm,
		Billing:       a.billing,
		Ledger:        a.db,
		Payments:      a.db,
		Queue:         a.db,
		Triggers:      a.db,
		TriggerWindow: triggerWindow,
		Receipts:      a.receiptSender,
		Audit:         a.db,
		Business:      a.business(),
		Links:         linkCfg,
		Failures:      a.failureConfig(sender),
		AutoPay: &syncer.AutoPayConfig{
			Ledger: a.db, Retry: a.cfg.AutoPayRetry, SendLinkOnFailure: a.cfg.AutoPaySendLink, Location: a.cfg.location(),
		},
		Collection: a.collection,
		Logger:     a.logger.With("component", "sync"),
		Observer:   a.metrics,
	})
	return err
}

// location is the time zone of Timezone, which loadConfig checked.
func (c Config) location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// failureConfig turns the failure inbox on, with the ops digest when mail
// and STRIPESYNC_OPS_EMAIL are set.
func (a *app) failureConfig(sender *receipts.Sender) *syncer.FailureConfig {
	cfg := &syncer.FailureConfig{Inbox: a.db, ConsoleURL: a.cfg.PublicURL, Counted: a.metrics.FailureCounted}
	if sender != nil && a.cfg.OpsEmail != "" {
		cfg.Notifier, cfg.OpsEmail = sender, a.cfg.OpsEmail
	}
	return cfg
}

// business is the seller shown on receipts and pages.
func (a *app) business() stripesync.Business {
	return stripesync.Business{Name: a.cfg.BusinessName, Address: a.cfg.BusinessAddress, Email: a.cfg.MailFrom}
}

// linkConfig turns payment and portal links on when a signing key is
// set. Links share STRIPESYNC_SIGNING_KEY with receipt links: the two
// signers MAC under different purpose prefixes ("link:", "receipt:"), so
// a token of one kind never passes as the other.
func (a *app) linkConfig(sender *receipts.Sender) (*syncer.LinkConfig, error) {
	if a.cfg.SigningKey == "" {
		a.logger.Warn("STRIPESYNC_SIGNING_KEY is not set: payment and portal links are off")
		return nil, nil
	}
	signer, err := links.NewSigner([]byte(a.cfg.SigningKey))
	if err != nil {
		return nil, err
	}
	a.linkSigner = signer
	cfg := &syncer.LinkConfig{
		Signer:      signer,
		PublicURL:   a.cfg.PublicURL,
		TTL:         a.cfg.LinkTTL,
		AutoIssue:   a.cfg.AutoPaymentLinks,
		Ledger:      a.db,
		Revocations: a.db,
	}
	if sender != nil {
		cfg.Mailer = sender
	}
	return cfg, nil
}

// staffRoutes turns the staff API on when a token file is configured.
func (a *app) staffRoutes(hcfg *httpapi.Config) error {
	if a.cfg.StaffTokensFile == "" {
		a.logger.Info("STRIPESYNC_STAFF_TOKENS_FILE is not set: the staff API is off")
		return nil
	}
	tokens, err := staff.Open(a.cfg.StaffTokensFile)
	if err != nil {
		return err
	}
	hcfg.Staff = tokens.Authenticate
	hcfg.Failures = &httpapi.FailureConfig{
		List:    a.db.ListFailures,
		Get:     a.db.Failure,
		Retry:   a.engine.RetryFailure,
		Dismiss: a.engine.DismissFailure,
	}
	if a.collection != nil {
		payments := &httpapi.PaymentConfig{
			View: func(ctx context.Context, invoiceID, staff string) (httpapi.InvoiceDetail, error) {
				v, actions, err := a.collection.StaffView(ctx, invoiceID, staff)
				return httpapi.InvoiceDetail{View: v.InvoiceView, Methods: v.Methods, Actions: actions}, err
			},
			Take: func(ctx context.Context, r httpapi.PaymentRequest) (stripesync.Payment, string, error) {
				p, err := a.collection.StaffPay(ctx, syncer.StaffPayRequest{
					InvoiceID: r.InvoiceID, Staff: r.Staff, RequestKey: r.RequestKey,
					Amount: r.Amount, PaymentMethodID: r.PaymentMethodID, Bank: r.Bank, MOTO: a.cfg.MOTO,
				})
				return p.Payment, p.PaymentMethodID, err
			},
			Verify: func(ctx context.Context, methodID, staff string, v stripesync.MicrodepositVerification) (stripesync.Payment, error) {
				return a.collection.VerifyBank(ctx, syncer.VerifyRequest{Staff: staff, PaymentMethodID: methodID, Verification: v})
			},
			ResendReceipt: func(ctx context.Context, paymentID, staff string) (string, error) {
				r, err := a.engine.ResendReceipt(ctx, paymentID, staff)
				return r.CustomerEmail, err
			},
			Requests:       a.db,
			ReceiptURL:     a.links.URL,
			FingerprintKey: a.subKey("stripesync request fingerprints"),
		}
		hcfg.Payments = payments
		if hcfg.Console, err = a.console(tokens, payments, hcfg.Failures, hcfg.Status); err != nil {
			return err
		}
	}

	if a.linkSigner == nil {
		return nil
	}
	hcfg.Links = &httpapi.LinkConfig{
		Issue: func(ctx context.Context, r httpapi.LinkRequest) (httpapi.IssuedLink, error) {
			l, err := a.engine.IssuePaymentLink(ctx, syncer.LinkRequest{InvoiceID: r.InvoiceID, Email: r.Email, RequestID: r.RequestID, Staff: r.Staff})
			return httpapi.IssuedLink{URL: l.URL, ExpiresAt: l.ExpiresAt, Emailed: l.Emailed, EmailedTo: l.EmailedTo}, err
		},
		Revoke: a.engine.RevokePaymentLinks,
		Portal: func(ctx context.Context, accountID string) (httpapi.IssuedLink, error) {
			url, expires, err := a.engine.PortalLink(ctx, accountID)
			return httpapi.IssuedLink{URL: url, ExpiresAt: expires}, err
		},
	}
	return nil
}

// console builds the staff console on the staff API's functions, with the
// status page on status's report. Sending payment links from it needs
// links and mail.
func (a *app) console(tokens *staff.File, payments *httpapi.PaymentConfig, failures *httpapi.FailureConfig, status *httpapi.StatusConfig) (*console.Handler, error) {
	cfg := console.Config{
		Authenticate: tokens.Authenticate, Known: tokens.Known, Sessions: a.db,
		Payments: payments, Failures: failures, Search: a.db.SearchInvoices, Verifications: a.db.PendingVerifications,
		StripeJSURL: a.cfg.StripeJSURL, PublishableKey: a.cfg.StripePublishableKey, StripeAccount: a.cfg.StripeAccount,
		Business: a.business(), PublicURL: a.cfg.PublicURL, Logger: a.logger.With("component", "console"),
	}
	if status != nil {
		cfg.Status = &console.StatusPageConfig{Report: status, Revive: a.db.ReviveJob, Drop: a.db.DropJob}
	}
	if a.linkSigner != nil && a.receiptSender != nil {
		cfg.SendLink = func(ctx context.Context, invoiceID, staff, requestID string) (string, error) {
			l, err := a.engine.IssuePaymentLink(ctx, syncer.LinkRequest{InvoiceID: invoiceID, Email: true, RequestID: requestID, Staff: staff})
			return l.EmailedTo, err
		}
	}
	return console.New(cfg)
}

// subKey derives the key of one purpose from the signing key, or from the
// Stripe secret key when there is none: secrets every replica shares and a
// restart keeps. Each purpose gets its own key, so that no token or digest
// of one kind can ever pass as another's.
func (a *app) subKey(purpose string) []byte {
	secret := a.cfg.SigningKey
	if secret == "" {
		secret = a.cfg.StripeKey
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// pages builds the customers' pages, which need payment links (a signing
// key); nil when links are off.
func (a *app) pages() (*web.Handler, error) {
	if a.linkSigner == nil {
		return nil, nil
	}
	var origins []string
	if a.cfg.StripeAPIBase != "" {
		// An emulator or proxy serves Checkout from its own origin.
		if u, err := url.Parse(a.cfg.StripeAPIBase); err == nil && u.Host != "" {
			origins = append(origins, u.Scheme+"://"+u.Host)
		}
	}
	return web.New(web.Config{
		Collection:      a.collection,
		VerifyPay:       a.engine.VerifyPaymentLink,
		ParsePay:        a.engine.ParsePaymentLink,
		VerifyPortal:    a.engine.VerifyPortalLink,
		Links:           a.linkSigner,
		ReceiptURL:      a.links.URL,
		FormKey:         a.subKey("stripesync form nonces"),
		Business:        a.business(),
		PublicURL:       a.cfg.PublicURL,
		CheckoutOrigins: origins,
		Logger:          a.logger.With("component", "web"),
	})
}

// Close releases the database.
func (a *app) Close() {
	if a.db != nil {
		if err := a.db.Close(); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Warn("close database", "error", err)
		}
	}
}
