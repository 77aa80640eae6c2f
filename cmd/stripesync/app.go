package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/metrics"
	"github.com/stripesync/stripesync/receipts"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/stripeclient"
	syncer "github.com/stripesync/stripesync/sync"
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
}

// newLogger builds the process logger from the configured format and level.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openApp opens the database (migrating it) and builds the adapters and the
// engine. The caller closes it.
func openApp(ctx context.Context, cfg Config, logger *slog.Logger) (*app, error) {
	db, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, registry: prometheus.NewRegistry(), db: db}
	a.metrics = metrics.New(a.registry)
	a.registry.MustRegister(metrics.NewBacklogCollector(db.InboxBacklog, nil))
	if err := a.buildAdapters(); err != nil {
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
	if a.cfg.SMTPURL != "" {
		mailer, err := receipts.NewMailer(receipts.MailConfig{URL: a.cfg.SMTPURL, From: a.cfg.MailFrom})
		if err != nil {
			return err
		}
		a.receiptSender = receipts.Sender{Mailer: mailer, Link: links.URL}
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
		Business:      stripesync.Business{Name: a.cfg.BusinessName, Address: a.cfg.BusinessAddress, Email: a.cfg.MailFrom},
		Logger:        a.logger.With("component", "sync"),
		Observer:      a.metrics,
	})
	return err
}

// Close releases the database.
func (a *app) Close() {
	if a.db != nil {
		if err := a.db.Close(); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Warn("close database", "error", err)
		}
	}
}
