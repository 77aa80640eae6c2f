package sync

import (
	"cmp"
	"errors"
	"log/slog"
	"time"

	"github.com/stripesync/stripesync"
)

// Observer is told about the outcome of runs, for metrics. metrics.Metrics
// implements it.
type Observer interface {
	AccountsHandled(pushed, skipped, failed int)
	RunFinished(job, status string, d time.Duration)
	// EventsSettled counts Stripe events applied (or with nothing to
	// apply), failed and to be retried, and moved to the dead letters.
	EventsSettled(processed, retried, dead int)
}

// Config configures an Engine.
type Config struct {
	CRM     stripesync.CRM
	Billing stripesync.Billing
	Ledger  stripesync.Ledger
	// Payments and Queue are needed by the payment features (ingest,
	// pull, write-back, receipts); the account push runs without them.
	Payments stripesync.PaymentLedger
	Queue    stripesync.Queue
	// Triggers is the inbox of CRM change hints (Outbound Messages, Apex
	// callouts); nil turns the trigger worker off.
	Triggers stripesync.TriggerInbox
	// TriggerWindow is the inbox's coalescing window: a new trigger
	// becomes claimable only after it, so NotifyTriggers wakes the worker
	// again once it has passed.
	TriggerWindow time.Duration
	// Receipts sends receipts; nil turns receipt mail off (receipts are
	// still numbered and downloadable).
	Receipts ReceiptSender
	// Audit keeps the trail of what staff do through the engine (a
	// receipt re-sent); nil keeps none.
	Audit stripesync.StaffAudit
	// Business is the seller printed on receipts.
	Business stripesync.Business
	// Collection, when set, is told about the Checkout Sessions and saved
	// methods the events report (reservations released, methods
	// refreshed).
	Collection *Collection
	// Links turns payment and portal links on; nil leaves them off.
	Links *LinkConfig
	// Failures turns the failure inbox's digest and actions on; nil
	// leaves them off.
	Failures *FailureConfig
	// AutoPay turns auto-pay on; it needs Collection and Failures.
	AutoPay *AutoPayConfig

	// Logger receives the run log; nil discards it.
	Logger *slog.Logger
	// Observer receives run outcomes for metrics; nil means none.
	Observer Observer
	// Workers is how many accounts are pushed at once. Stripe calls are
	// paced by the Billing client, so this only needs to cover latency:
	// rate × round-trip time. Defaults to 16.
	Workers int
	// BatchSize is how many accounts are read from the stream, looked up in
	// the ledger and written back to the CRM together. Defaults to 500.
	BatchSize int
	// EventAttempts bounds the attempts to apply one Stripe event before
	// it moves to the dead letters. Defaults to 10.
	EventAttempts int
	// EventSettle is how long an accepted event waits before the worker
	// claims it, so that the events Stripe sends together about one
	// payment are applied together. Defaults to 20 ms.
	EventSettle time.Duration
	// EventReadTimeout bounds each Stripe read of the event worker.
	// Defaults to 20 s.
	EventReadTimeout time.Duration
	// Now returns the current time; defaults to time.Now.
	Now func() time.Time
}

// Validate reports every missing dependency at once.
func (c Config) Validate() error {
	var errs []error
	if c.CRM == nil {
		errs = append(errs, errors.New("sync: Config.CRM is required"))
	}
	if c.Billing == nil {
		errs = append(errs, errors.New("sync: Config.Billing is required"))
	}
	if c.Ledger == nil {
		errs = append(errs, errors.New("sync: Config.Ledger is required"))
	}
	if (c.Payments == nil) != (c.Queue == nil) {
		errs = append(errs, errors.New("sync: Config.Payments and Config.Queue go together"))
	}
	if c.AutoPay != nil && (c.Collection == nil || c.Failures == nil || c.AutoPay.Ledger == nil) {
		errs = append(errs, errors.New("sync: Config.AutoPay needs its Ledger, Config.Collection and Config.Failures"))
	}
	if c.Workers < 0 || c.BatchSize < 0 || c.EventAttempts < 0 || c.EventSettle < 0 || c.EventReadTimeout < 0 {
		errs = append(errs, errors.New("sync: Workers, BatchSize and the Event settings must not be negative"))
	}
	return errors.Join(errs...)
}

// Engine runs the sync jobs. It is safe for concurrent use, but the
// scheduler runs each job one at a time.
type Engine struct {
	crm      stripesync.CRM
	billing  stripesync.Billing
	ledger   stripesync.Ledger
	payments stripesync.PaymentLedger
	queue    stripesync.Queue
	triggers stripesync.TriggerInbox
	window   time.Duration
	receipts ReceiptSender
	business stripesync.Business
	audit    stripesync.StaffAudit
	collect  *Collection
	links    *linkIssuer // nil: links off
	failures *FailureConfig
	autopay  *AutoPayConfig
	wake     wakeups
	reads    *readLane
	logger   *slog.Logger
	observer Observer
	workers  int
	batch    int
	// eventAttempts and eventSettle: see Config.
	eventAttempts int
	eventSettle   time.Duration
	readTimeout   time.Duration
	now           func() time.Time
}

// The account push's defaults.
const (
	// defaultPushWorkers is how many accounts are pushed at once: enough
	// to keep Stripe's rate limit (25 requests a second in test mode, 100
	// live) busy while each call waits out its round trip, and few enough
	// that the client's pacing, not a burst, decides the request rate.
	defaultPushWorkers = 16
	// defaultPushBatch is how many accounts are read from the CRM stream
	// and looked up in the ledger at once: one ledger query per batch,
	// and SQLite's and Postgres's bind-parameter limits stay far off.
	defaultPushBatch = 500
)

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	links, err := newLinkIssuer(cfg.Links)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		links:    links,
		failures: cfg.Failures,
		autopay:  cfg.AutoPay,
		crm:      cfg.CRM,
		billing:  cfg.Billing,
		ledger:   cfg.Ledger,
		payments: cfg.Payments,
		queue:    cfg.Queue,
		triggers: cfg.Triggers,
		window:   cfg.TriggerWindow,
		receipts: cfg.Receipts,
		audit:    cfg.Audit,
		business: cfg.Business,
		collect:  cfg.Collection,
		wake:     newWakeups(),
		logger:   cfg.Logger,
		observer: cfg.Observer,
		workers:  cmp.Or(cfg.Workers, defaultPushWorkers),
		batch:    cmp.Or(cfg.BatchSize, defaultPushBatch),
		now:      cfg.Now,

		eventAttempts: cmp.Or(cfg.EventAttempts, defaultEventAttempts),
		eventSettle:   cmp.Or(cfg.EventSettle, defaultEventSettle),
		readTimeout:   cmp.Or(cfg.EventReadTimeout, defaultReadTimeout),
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	e.reads = newReadLane(e.logger)
	if e.now == nil {
		e.now = time.Now
	}
	return e, nil
}
