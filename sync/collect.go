package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/stripesync/stripesync"
)

// This file is the collection half's engine room: what the pay page and
// the portal ask of Stripe and the ledger. The pages (package web) hold no
// business rules; every bound on an amount, every reservation and every
// idempotency key is decided here.

// Collection timings.
const (
	// checkoutLifetime is how long a Checkout Session opened from the pay
	// page stays payable: Stripe's minimum (30 minutes) and a minute of
	// slack for the clocks. Its reservation lasts as long.
	checkoutLifetime = 31 * time.Minute
	// chargeHold bounds the reservation of a saved-method charge whose
	// outcome Stripe left unknown: long enough for the webhook or the pull
	// to record the payment, after which the payment itself counts.
	chargeHold = 15 * time.Minute
	// microdepositHold is how long a bank account entered by hand holds
	// its amount while it waits for its micro-deposits: Stripe gives the
	// customer ten days to confirm them, and a day of slack.
	microdepositHold = 11 * 24 * time.Hour
	// methodsFresh is how long the ledger's copy of a customer's saved
	// methods is shown without asking Stripe again. Changes made through
	// the daemon or reported by webhooks refresh it at once; this bounds
	// how stale a missed webhook can leave it.
	methodsFresh = time.Hour
)

// CollectionConfig configures a Collection.
type CollectionConfig struct {
	Collector stripesync.Collector
	// Billing reads a PaymentIntent when a customer returns from Checkout,
	// so the receipt is ready before the webhook arrives.
	Billing  stripesync.Billing
	Ledger   stripesync.CollectionLedger
	Payments stripesync.PaymentLedger
	Accounts stripesync.Ledger
	// Audit keeps the trail of staff actions; nil keeps none (the pay
	// page alone needs none). A staff card payment that went through is
	// written to the trail by Ledger.RecordCharge, in the transaction that
	// records the payment, so Audit must be the Ledger's own trail
	// (store.DB is both).
	Audit  stripesync.StaffAudit
	Logger *slog.Logger
	Now    func() time.Time
}

// Collection takes payments from customers. It is safe for concurrent use.
type Collection struct {
	collector stripesync.Collector
	billing   stripesync.Billing
	ledger    stripesync.CollectionLedger
	payments  stripesync.PaymentLedger
	accounts  stripesync.Ledger
	audit     stripesync.StaffAudit
	logger    *slog.Logger
	now       func() time.Time
}

// NewCollection returns a Collection; every dependency but Logger and Now
// is required.
func NewCollection(cfg CollectionConfig) (*Collection, error) {
	if cfg.Collector == nil || cfg.Billing == nil || cfg.Ledger == nil || cfg.Payments == nil || cfg.Accounts == nil {
		return nil, errors.New("sync: CollectionConfig needs Collector, Billing, Ledger, Payments and Accounts")
	}
	c := &Collection{
		collector: cfg.Collector, billing: cfg.Billing, ledger: cfg.Ledger,
		payments: cfg.Payments, accounts: cfg.Accounts, audit: cfg.Audit, logger: cfg.Logger, now: cfg.Now,
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// PayView is everything the pay page shows.
type PayView struct {
	stripesync.InvoiceView
	// Open is false for an invoice that cannot be paid (paid, void,
	// draft, nothing payable); the page then shows why instead of a form.
	Open bool
	// Minimum is Stripe's minimum charge in the invoice's currency.
	Minimum stripesync.Money
	// Methods are the customer's saved methods the invoice can be paid
	// with (bank accounts only for USD).
	Methods []stripesync.SavedMethod
	// BankAllowed says whether a new US bank account may be used.
	BankAllowed bool
	CustomerID  string
	// LinksRevokedAt is the latest revocation of the invoice's payment
	// links (zero if none), read with the rest: a link issued before it
	// no longer works (links.Link.RevokedBy).
	LinksRevokedAt time.Time
}

// PayView loads the pay page of an invoice for holder, from one read of
// the ledger (PayPage).
func (c *Collection) PayView(ctx context.Context, invoiceID, holder string) (PayView, error) {
	pg, err := c.ledger.PayPage(ctx, invoiceID, holder, c.now())
	if err != nil {
		return PayView{}, err
	}
	v := newPayView(pg.InvoiceView)
	v.LinksRevokedAt = pg.LinksRevokedAt
	if !v.Open {
		return v, nil
	}
	var methods []stripesync.SavedMethod
	v.CustomerID, methods, err = c.freshMethods(ctx, pg.CustomerID, pg.Methods, pg.MethodsFetched)
	return c.withMethods(v, methods, err)
}

// chargeView is PayView for a payment about to be taken (staffPay): the
// same view, without the invoice's payments, which a payment does not
// look at, from one read of the ledger (PayerView) rather than three.
func (c *Collection) chargeView(ctx context.Context, invoiceID, holder string) (PayView, error) {
	pv, err := c.ledger.PayerView(ctx, invoiceID, holder, c.now())
	if err != nil {
		return PayView{}, err
	}
	v := newPayView(pv.InvoiceView)
	if !v.Open {
		return v, nil
	}
	var methods []stripesync.SavedMethod
	v.CustomerID, methods, err = c.freshMethods(ctx, pv.CustomerID, pv.Methods, pv.MethodsFetched)
	return c.withMethods(v, methods, err)
}

// newPayView is the part of PayView that iv alone tells.
func newPayView(iv stripesync.InvoiceView) PayView {
	v := PayView{InvoiceView: iv, BankAllowed: bankAllowed(iv.Invoice.Total.Currency)}
	v.Minimum, _ = stripesync.MinimumCharge(iv.Invoice.Total.Currency)
	v.Open = payable(iv)
	return v
}

// withMethods completes v, an open invoice's view whose CustomerID is
// set (or not, with err saying why), with those of methods the invoice
// can be paid with, as accountMethods returned them with err.
func (c *Collection) withMethods(v PayView, methods []stripesync.SavedMethod, err error) (PayView, error) {
	if v.CustomerID == "" {
		return v, err
	}
	if err != nil {
		// A page without saved methods still lets the customer pay.
		c.logger.Warn("saved methods unavailable", "customer_id", v.CustomerID, "error", err)
	}
	for _, m := range methods {
		if m.Type == stripesync.MethodTypeCard || v.BankAllowed {
			v.Methods = append(v.Methods, m)
		}
	}
	return v, nil
}

// payable reports whether an invoice can take a payment now.
func payable(iv stripesync.InvoiceView) bool {
	switch iv.Invoice.Status {
	case stripesync.InvoiceDraft, stripesync.InvoiceVoid:
		return false
	}
	return !iv.Invoice.Deleted && iv.Rollup.Status != stripesync.InvoicePaid && iv.Rollup.Balance.Amount > 0
}

// bankAllowed is the rule for US bank accounts: USD only.
func bankAllowed(currency string) bool { return currency == "USD" }

// checkCharge applies the bounds of an amount that do not depend on other
// payments: the currency and Stripe's limits. The upper bound (the
// balance less pending less other payers' holds) is the ledger's to check,
// atomically, when it reserves the amount.
func checkCharge(v PayView, amount stripesync.Money) error {
	if amount.Currency != v.Invoice.Total.Currency {
		return stripesync.Errorf(stripesync.EINVALID, "The amount must be in %s", v.Invoice.Total.Currency)
	}
	if v.Minimum.Amount > 0 && amount.Amount < v.Minimum.Amount {
		return stripesync.Errorf(stripesync.EINVALID, "The amount must be at least %s", v.Minimum)
	}
	if amount.Amount <= 0 {
		return stripesync.Errorf(stripesync.EINVALID, "The amount must be more than zero")
	}
	return amount.ValidateCharge()
}

// PayRequest is a pay page submission.
type PayRequest struct {
	InvoiceID string
	Holder    string
	// Nonce is the form's one-time nonce: the reservation and the Stripe
	// idempotency key derive from it, so a double submit pays once.
	Nonce  string
	Amount stripesync.Money
	// MethodID is a saved method; "" with NewMethod set opens Checkout.
	MethodID  string
	NewMethod string // stripesync.MethodTypeCard or MethodTypeBank
	// SuccessURL and CancelURL are where Checkout sends the customer back.
	SuccessURL string
	CancelURL  string
	Mandate    *stripesync.MandateAcceptance
}

// PayResult is what a submission led to.
type PayResult struct {
	// CheckoutURL is set when the customer goes on to Checkout.
	CheckoutURL string
	// Payment is set when a saved method was charged.
	Payment stripesync.Payment
}

// Pay takes a pay page submission: it checks the amount, reserves it, and
// either charges the saved method or opens a Checkout Session.
func (c *Collection) Pay(ctx context.Context, r PayRequest) (PayResult, error) {
	if r.Nonce == "" || r.Holder == "" {
		return PayResult{}, stripesync.Errorf(stripesync.EINVALID, "The form is incomplete; reload the page and try again")
	}
	v, err := c.PayView(ctx, r.InvoiceID, r.Holder)
	if err != nil {
		return PayResult{}, err
	}
	if !v.Open {
		return PayResult{}, stripesync.Errorf(stripesync.ECONFLICT, "This invoice cannot be paid any more")
	}
	// Only the fixed bounds here: the balance is checked by the ledger
	// when it reserves, atomically, and a repeat of this form's nonce
	// (a double submit, a reload) must find its own reservation rather
	// than a balance its first submit already lowered.
	if err := checkCharge(v, r.Amount); err != nil {
		return PayResult{}, err
	}
	if r.MethodID != "" {
		return c.chargeSaved(ctx, v, r)
	}
	return c.openCheckout(ctx, v, r)
}

// chargeSaved charges a saved method for r.Amount.
func (c *Collection) chargeSaved(ctx context.Context, v PayView, r PayRequest) (PayResult, error) {
	i := slices.IndexFunc(v.Methods, func(m stripesync.SavedMethod) bool { return m.ID == r.MethodID })
	if i < 0 {
		return PayResult{}, stripesync.Errorf(stripesync.EINVALID, "That payment method is not one of yours; choose another")
	}
	method := v.Methods[i]
	key := "charge:" + r.Nonce
	if err := c.reserve(ctx, stripesync.Reservation{
		Key: key, InvoiceID: v.Invoice.ID, Amount: r.Amount, Holder: r.Holder,
		ExpiresAt: c.now().Add(chargeHold),
	}); err != nil {
		return PayResult{}, err
	}
	req := stripesync.ChargeRequest{
		CustomerID: v.CustomerID, PaymentMethodID: method.ID, MethodType: method.Type, InvoiceID: v.Invoice.ID,
		Amount: r.Amount, Channel: stripesync.ChannelPaymentLink,
		Description: "Invoice " + v.Invoice.Number,
	}
	if method.Type == stripesync.MethodTypeBank {
		req.Mandate = r.Mandate
	}
	p, err := c.charge(ctx, v, key, req, stripesync.IdempotencyKey("pay", v.Invoice.ID, r.Nonce), c.repeatError, nil)
	return PayResult{Payment: p}, err
}

// charge charges req against the reservation key already held for it and
// records the payment, bound to the reservation, with audit (unless nil:
// the staff action that asked for the charge, recorded with outcome "ok")
// in the same transaction. A decline or a refused request releases the
// reservation; an unknown outcome keeps it until the webhook or the pull
// tells, or the hold lapses; a repeat Stripe refused under stripeKey is
// answered by repeat. The payment is returned with the error when it was
// charged but not recorded (the webhook records it); audit is recorded
// only when the error is nil.
func (c *Collection) charge(ctx context.Context, v PayView, key string, req stripesync.ChargeRequest, stripeKey string,
	repeat func(error, string) error, audit *stripesync.StaffAction) (stripesync.Payment, error) {
	p, err := c.collector.Charge(ctx, req, stripeKey)
	switch stripesync.CodeOf(err) {
	case "":
	case stripesync.EUNAVAILABLE:
		// The outcome is unknown: keep the amount reserved until the
		// webhook or the pull tells, or the hold lapses.
		return stripesync.Payment{}, err
	case stripesync.ECONFLICT:
		return stripesync.Payment{}, repeat(err, key)
	case stripesync.EINVALID:
		// Refused before any money moved, for a reason the payer can act
		// on (a method of another customer, a bank account for a non-USD
		// invoice), in words the adapter chose for them.
		c.release(ctx, key)
		c.logger.Warn("charge refused", "invoice_id", v.Invoice.ID, "error", err)
		return stripesync.Payment{}, err
	default:
		c.release(ctx, key)
		return stripesync.Payment{}, c.payerError(err, "charge a saved method")
	}
	if p.InvoiceID == "" {
		p.InvoiceID = v.Invoice.ID
	}
	if p.AccountID == "" {
		p.AccountID = v.Invoice.AccountID
	}
	if audit != nil {
		a := *audit
		a.At, a.Outcome, a.PaymentID = c.now(), "ok", p.ID
		audit = &a
	}
	// The reservation stays, bound to the PaymentIntent: the ledger no
	// longer counts it once the payment is recorded, and a repeat of the
	// request finds it and replays the same charge instead of being
	// measured against the balance this charge lowered.
	stored, err := c.ledger.RecordCharge(ctx, key, p, audit)
	if err != nil {
		// Charged but not recorded: the webhook records it; the
		// reservation, bound on its own, keeps the amount from being
		// paid twice meanwhile.
		if berr := c.ledger.BindReservation(ctx, key, "", p.ID); berr != nil {
			c.logger.Warn("bind reservation", "key", key, "stripe_id", p.ID, "error", berr)
		}
		return p, fmt.Errorf("record payment %s: %w", p.ID, err)
	}
	return stored, nil
}

// openCheckout reserves r.Amount and opens a Checkout Session for it,
// expiring the holder's earlier session for the invoice.
func (c *Collection) openCheckout(ctx context.Context, v PayView, r PayRequest) (PayResult, error) {
	switch r.NewMethod {
	case stripesync.MethodTypeCard:
	case stripesync.MethodTypeBank:
		if !v.BankAllowed {
			return PayResult{}, stripesync.Errorf(stripesync.EINVALID, "Bank accounts can pay %s invoices only in USD", v.Invoice.Total.Currency)
		}
	default:
		return PayResult{}, stripesync.Errorf(stripesync.EINVALID, "Choose how to pay")
	}
	key := "checkout:" + r.Nonce
	// The expiry is part of the session's parameters under the form's
	// idempotency key: kept to the minute, a repeat of the submit in the
	// same minute replays the same session instead of being refused.
	expires := c.now().Truncate(time.Minute).Add(checkoutLifetime + time.Minute)
	replaced, err := c.ledger.Reserve(ctx, stripesync.Reservation{
		Key: key, InvoiceID: v.Invoice.ID, Amount: r.Amount, Holder: r.Holder, ExpiresAt: expires,
	}, c.now())
	if err != nil {
		return PayResult{}, err
	}
	for _, old := range replaced {
		c.expireSession(ctx, old.SessionID)
	}
	s, err := c.collector.CreateCheckoutSession(ctx, stripesync.CheckoutRequest{
		Mode: stripesync.CheckoutPayment, CustomerID: v.CustomerID, InvoiceID: v.Invoice.ID,
		Description: "Invoice " + v.Invoice.Number, Amount: r.Amount,
		Methods: []string{r.NewMethod}, SaveMethod: true, Channel: stripesync.ChannelPaymentLink,
		SuccessURL: r.SuccessURL, CancelURL: r.CancelURL, ExpiresAt: expires,
	}, stripesync.IdempotencyKey("checkout", v.Invoice.ID, r.Nonce))
	switch stripesync.CodeOf(err) {
	case "":
	case stripesync.EUNAVAILABLE:
		return PayResult{}, c.payerError(err, "open a Checkout Session")
	case stripesync.ECONFLICT:
		return PayResult{}, c.repeatError(err, key)
	default:
		c.release(ctx, key)
		return PayResult{}, c.payerError(err, "open a Checkout Session")
	}
	if err := c.ledger.BindReservation(ctx, key, s.ID, ""); err != nil {
		return PayResult{}, err
	}
	return PayResult{CheckoutURL: s.URL}, nil
}

// CheckoutOutcome is where a customer coming back from Checkout goes.
type CheckoutOutcome struct {
	Session stripesync.CheckoutSession
	// Payment is the recorded payment when the customer paid: Succeeded
	// (show the receipt) or Processing (ACH on its way).
	Payment stripesync.Payment
	Paid    bool
}

// CheckoutReturned handles the customer's return from a Checkout Session
// of invoiceID: the session is read, and a payment it made is recorded at
// once so the receipt is ready without waiting for the webhook.
func (c *Collection) CheckoutReturned(ctx context.Context, invoiceID, sessionID string) (CheckoutOutcome, error) {
	s, err := c.collector.CheckoutSession(ctx, sessionID)
	if err != nil {
		return CheckoutOutcome{}, err
	}
	if s.InvoiceID != invoiceID || s.Mode != stripesync.CheckoutPayment {
		return CheckoutOutcome{}, stripesync.Errorf(stripesync.ENOTFOUND, "no such checkout for this invoice")
	}
	out := CheckoutOutcome{Session: s}
	if s.Status != stripesync.CheckoutComplete || s.PaymentIntentID == "" {
		return out, nil
	}
	p, err := c.billing.PaymentIntent(ctx, s.PaymentIntentID)
	if err != nil {
		return out, err
	}
	if p.AccountID == "" && p.InvoiceID == invoiceID {
		if inv, _, err := c.payments.Invoice(ctx, invoiceID); err == nil {
			p.AccountID = inv.AccountID
		}
	}
	stored, _, err := c.payments.RecordPayment(ctx, p)
	if err != nil {
		return out, err
	}
	// The webhook's checkout.session.completed would do the same; doing
	// it now frees (or, for a bank account still to be confirmed, holds)
	// the amount before the customer can look at the pay page again.
	if _, err := c.sessionSettled(ctx, "checkout.session.completed", s); err != nil {
		c.logger.Warn("settle checkout", "session_id", s.ID, "error", err)
	}
	out.Payment, out.Paid = stored, true
	c.methodsChanged(ctx, s.CustomerID)
	return out, nil
}

// CheckoutCanceled releases the reservation of a Checkout Session the
// customer walked away from and expires the session in Stripe, so that
// nothing stays reserved.
func (c *Collection) CheckoutCanceled(ctx context.Context, nonce string) error {
	r, ok, err := c.ledger.ReleaseReservation(ctx, "checkout:"+nonce)
	if err != nil || !ok {
		return err
	}
	c.expireSession(ctx, r.SessionID)
	return nil
}

// sessionSettled applies a checkout.session.* event to the ledger and
// returns the customer whose methods a completed session may have saved
// ("" for none). A session that expired, or whose payment succeeded or
// failed, holds nothing any more: its payment, if any, counts through its
// PaymentIntent. A session that completed unpaid holds its amount for the
// micro-deposit window: the bank account waits to be confirmed, and the
// balance must not be paid a second time meanwhile (once the debit is
// processing, the payment itself counts and the hold no longer does).
func (c *Collection) sessionSettled(ctx context.Context, eventType string, s stripesync.CheckoutSession) (string, error) {
	if s.Status == stripesync.CheckoutOpen {
		return "", nil
	}
	var err error
	if eventType == "checkout.session.completed" && s.PaymentStatus == "unpaid" && s.PaymentIntentID != "" {
		err = c.ledger.HoldSession(ctx, s.ID, s.PaymentIntentID, c.now().Add(microdepositHold))
	} else {
		err = c.ledger.ReleaseSession(ctx, s.ID)
	}
	if err != nil {
		return "", err
	}
	if s.Status == stripesync.CheckoutComplete {
		return s.CustomerID, nil
	}
	return "", nil
}

// repeatError answers a repeat of a submit that Stripe refused under the
// form's idempotency key because the first one went through with other
// parameters (ECONFLICT: Stripe's idempotency_error). The reservation is
// the first submit's, held for its Checkout Session or charge: releasing
// it would let the balance be paid a second time.
func (c *Collection) repeatError(err error, key string) error {
	c.logger.Warn("repeated submit refused by Stripe", "key", key, "error", err)
	return stripesync.WrapError(stripesync.ECONFLICT, err,
		"This payment was already started from this page; finish it in the window it opened, or reload this page to start again")
}

// payerError keeps what a payer may read of a failed Stripe call: a
// decline's own message, or that Stripe could not be reached. Anything
// else is a bug on one side or the other; it is logged in full and shown
// as a plain apology, never as Stripe's or our internals.
func (c *Collection) payerError(err error, what string) error {
	switch stripesync.CodeOf(err) {
	case stripesync.EDECLINED, stripesync.EUNAVAILABLE, stripesync.ERATELIMITED:
		return err
	}
	c.logger.Error(what, "error", err)
	return stripesync.WrapError(stripesync.EINTERNAL, err, "The payment could not be started")
}

// reserve stores a reservation, expiring the Checkout Sessions it
// replaces.
func (c *Collection) reserve(ctx context.Context, r stripesync.Reservation) error {
	replaced, err := c.ledger.Reserve(ctx, r, c.now())
	for _, old := range replaced {
		c.expireSession(ctx, old.SessionID)
	}
	return err
}

func (c *Collection) release(ctx context.Context, key string) {
	if _, _, err := c.ledger.ReleaseReservation(ctx, key); err != nil {
		// The reservation lapses at its expiry anyway.
		c.logger.Warn("release reservation", "key", key, "error", err)
	}
}

// expireSession closes a replaced or abandoned Checkout Session in Stripe
// so that it cannot be paid on top of the reservation that replaced it.
// A failure is logged: Stripe expires the session itself within 31
// minutes, and the ledger no longer counts it.
func (c *Collection) expireSession(ctx context.Context, id string) {
	if id == "" {
		return
	}
	if _, err := c.collector.ExpireCheckoutSession(ctx, id); err != nil {
		c.logger.Warn("expire replaced checkout session", "session_id", id, "error", err)
	}
}

// customerOf returns the Stripe customer of a CRM account: payments need
// one to save methods on. An account not pushed yet cannot pay here.
func (c *Collection) customerOf(ctx context.Context, accountID string) (string, error) {
	links, err := c.accounts.AccountLinks(ctx, []string{accountID})
	if err != nil {
		return "", err
	}
	l, ok := links[accountID]
	if !ok || l.State != stripesync.LinkBound || l.StripeID == "" {
		return "", errNotPushed
	}
	return l.StripeID, nil
}

// errNotPushed refuses a payment for an account that has no Stripe
// customer yet: methods are saved on the customer.
var errNotPushed = stripesync.Errorf(stripesync.ECONFLICT, "This invoice cannot be paid online yet; please contact us")

// accountMethods returns the Stripe customer of a CRM account and the
// ledger's copy of its saved methods, read again from Stripe when it is
// missing or older than methodsFresh. An account not pushed yet cannot
// pay here (ECONFLICT, customerID ""); a failed refresh returns the
// customer, the stale copy and the error.
func (c *Collection) accountMethods(ctx context.Context, accountID string) (customerID string, methods []stripesync.SavedMethod, err error) {
	customerID, ms, at, err := c.ledger.AccountMethods(ctx, accountID)
	if err != nil {
		return "", nil, err
	}
	return c.freshMethods(ctx, customerID, ms, at)
}

// freshMethods is accountMethods for what the ledger said of an account:
// its customer and its copy of the customer's methods, read from Stripe
// at at.
func (c *Collection) freshMethods(ctx context.Context, customerID string, ms []stripesync.SavedMethod, at time.Time) (string, []stripesync.SavedMethod, error) {
	if customerID == "" {
		return "", nil, errNotPushed
	}
	if !at.IsZero() && c.now().Sub(at) < methodsFresh {
		return customerID, ms, nil
	}
	fresh, err := c.collector.SavedMethods(ctx, customerID)
	if err != nil {
		return customerID, ms, err
	}
	if err := c.ledger.SaveMethods(ctx, customerID, fresh, c.now()); err != nil {
		c.logger.Warn("save methods", "customer_id", customerID, "error", err)
	}
	return customerID, fresh, nil
}

// methodsChanged marks the ledger's copy of a customer's saved methods
// stale after the daemon changed them (a Checkout that saved one, a
// removal, a new default): the next page that shows them reads them from
// Stripe, as it does after a webhook says they changed. A failure only
// costs freshness: the copy is read again within methodsFresh anyway.
func (c *Collection) methodsChanged(ctx context.Context, customerID string) {
	if customerID == "" {
		return
	}
	if err := c.ledger.StaleMethods(ctx, customerID); err != nil {
		c.logger.Warn("mark saved methods stale", "customer_id", customerID, "error", err)
	}
}
