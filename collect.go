package stripesync

import (
	"context"
	"fmt"
	"time"
)

// This file holds the collection half's domain: customers paying invoices
// through payment links, the pay page and the portal, with methods they
// saved. The types are shared by the Stripe adapter (stripeclient), the
// ledger (store), the engine (sync) and the pages (web).

// Payment method types, as Stripe names them (payment_method_types[]).
const (
	MethodTypeCard = "card"
	MethodTypeBank = "us_bank_account"
)

// SavedMethod is a payment method saved on a Stripe customer, as the pay
// page and the portal offer it. The daemon never sees card or account
// numbers, only what Stripe shows of them.
type SavedMethod struct {
	ID         string // pm_…
	CustomerID string // cus_…
	Type       string // MethodTypeCard or MethodTypeBank
	Brand      string // card brand as Stripe spells it ("visa"); "" for a bank account
	Last4      string
	ExpMonth   int // card only
	ExpYear    int // card only, four digits
	BankName   string
	// Default is set on the customer's
	// invoice_settings.default_payment_method, the one auto-pay charges.
	Default bool
}

// cardBrandNames spells Stripe's card brand codes as its Dashboard does.
var cardBrandNames = map[string]string{
	"amex": "American Express", "cartes_bancaires": "Cartes Bancaires", "diners": "Diners Club",
	"discover": "Discover", "eftpos_au": "eftpos Australia", "jcb": "JCB", "mastercard": "Mastercard",
	"unionpay": "UnionPay", "visa": "Visa",
}

// CardBrandName is how people read a Stripe card brand code ("visa" →
// "Visa"), on receipts, Payment__c and the pages; "Card" for an unknown one.
func CardBrandName(brand string) string {
	if name, ok := cardBrandNames[brand]; ok {
		return name
	}
	return "Card"
}

// Label is how a customer recognises the method: "Visa •••• 4242, expires
// 12/28" or "Bank •••• 6789".
func (m SavedMethod) Label() string {
	if m.Type == MethodTypeBank {
		if m.BankName != "" {
			return fmt.Sprintf("%s •••• %s", m.BankName, m.Last4)
		}
		return "Bank •••• " + m.Last4
	}
	brand := CardBrandName(m.Brand)
	if m.ExpMonth == 0 {
		return brand + " •••• " + m.Last4
	}
	return fmt.Sprintf("%s •••• %s, expires %02d/%02d", brand, m.Last4, m.ExpMonth, m.ExpYear%100)
}

// CheckoutMode is what a Checkout Session collects.
type CheckoutMode string

// The Checkout modes the daemon uses.
const (
	CheckoutPayment CheckoutMode = "payment" // pay an amount, saving the method
	CheckoutSetup   CheckoutMode = "setup"   // save a method without paying (the portal's "add")
)

// CheckoutRequest is a Stripe Checkout Session the daemon opens for a
// customer: in payment mode for part or all of one invoice's balance, in
// setup mode to save a new method.
type CheckoutRequest struct {
	Mode       CheckoutMode
	CustomerID string // cus_…, always set: the method is saved on it
	// InvoiceID is the CRM invoice paid (payment mode): it goes to
	// payment_intent_data.metadata.crm_invoice_id, the only metadata the
	// PaymentIntent gets, and to the session's own metadata.
	InvoiceID   string
	Description string // line item name, e.g. "Invoice INV-1001"
	Amount      Money  // payment mode only
	// Methods are the payment_method_types offered: MethodTypeCard, and
	// MethodTypeBank only for USD (instant verification with the
	// micro-deposit fallback).
	Methods []string
	// SaveMethod sets payment_intent_data.setup_future_usage=off_session
	// so the method is saved on the customer for reuse and auto-pay.
	SaveMethod bool
	Channel    string // metadata.channel of the PaymentIntent
	// SuccessURL and CancelURL bring the customer back to the daemon.
	// SuccessURL may hold Stripe's {CHECKOUT_SESSION_ID} placeholder.
	SuccessURL string
	CancelURL  string
	ExpiresAt  time.Time // at least 30 minutes and at most 24 hours ahead
}

// Checkout Session statuses (CheckoutSession.Status).
const (
	CheckoutOpen     = "open"
	CheckoutComplete = "complete"
	CheckoutExpired  = "expired"
)

// CheckoutSession is a Stripe Checkout Session as the daemon follows it.
type CheckoutSession struct {
	ID     string // cs_…
	URL    string // the hosted page; "" once the session is no longer open
	Mode   CheckoutMode
	Status string // CheckoutOpen, CheckoutComplete, CheckoutExpired
	// PaymentStatus is paid, unpaid (ACH still processing, or not paid
	// yet) or no_payment_required (setup mode).
	PaymentStatus   string
	CustomerID      string
	InvoiceID       string // metadata.crm_invoice_id
	Amount          Money  // amount_total (payment mode)
	PaymentIntentID string // pi_…; "" until the customer confirmed
	SetupIntentID   string // seti_… (setup mode)
	ExpiresAt       time.Time
}

// ChargeRequest is a PaymentIntent the daemon creates and confirms itself
// with a method saved on the customer: a customer paying on the pay page
// with a saved method, staff on the phone, or auto-pay.
type ChargeRequest struct {
	CustomerID      string
	PaymentMethodID string
	// MethodType is the method's type (MethodTypeCard, MethodTypeBank)
	// when the caller knows it as one of the customer's saved methods:
	// Charge then skips the read that checks the method's customer and
	// type, a Stripe call saved per charge (auto-pay's rate floor). ""
	// for a method the caller knows nothing of (one Stripe.js just made).
	MethodType  string
	InvoiceID   string // metadata.crm_invoice_id
	Amount      Money
	Channel     string // metadata.channel
	Description string
	// OffSession marks a merchant-initiated charge (auto-pay): the
	// customer is not there to authenticate.
	OffSession bool
	// MOTO flags a card payment taken by staff over the phone
	// (payment_method_options.card.moto).
	MOTO bool
	// Mandate is the customer's acceptance of an ACH debit, required to
	// confirm a bank account (mandate_data.customer_acceptance).
	Mandate *MandateAcceptance
	// Microdeposits marks a bank account entered by hand: verify it with
	// micro-deposits before debiting
	// (payment_method_options[us_bank_account][verification_method]=microdeposits).
	// Nobody has shown the account is the customer's, so the payment
	// waits (PaymentAwaitingVerification) until they report the deposits
	// through VerifyMicrodeposits.
	Microdeposits bool
}

// MandateAcceptance is a customer's acceptance of an ACH debit mandate, as
// Stripe records it: online, on the pay page, with the browser's address
// and user agent; or offline, read out to staff on the phone, with
// neither.
type MandateAcceptance struct {
	// AcceptedAt is when; zero lets Stripe stamp the time of the request.
	AcceptedAt time.Time
	Offline    bool
	IPAddress  string // online only
	UserAgent  string // online only
}

// EDECLINED classifies a charge the payment method's issuer or bank
// refused: the message is safe to show the payer ("Your card was
// declined."), the *Decline in the chain says more.
const EDECLINED ErrorCode = "declined"

// Decline is the detail of an EDECLINED error, for the failure inbox and
// the pay page.
type Decline struct {
	Code            string // Stripe's error code: card_declined, authentication_required, …
	DeclineCode     string // the issuer's reason: insufficient_funds, …; may be ""
	Message         string // Stripe's message, safe to show the payer
	PaymentIntentID string // the failed PaymentIntent, reusable with another method
}

func (d *Decline) Error() string {
	if d.DeclineCode != "" {
		return d.Message + " (" + d.Code + ": " + d.DeclineCode + ")"
	}
	return d.Message + " (" + d.Code + ")"
}

// Collector is the payment processor's collection side (Stripe).
// Implemented by stripeclient.Client. Errors are *Error values as for
// Billing, plus EDECLINED for a refused charge.
type Collector interface {
	// CreateCheckoutSession opens a Checkout Session.
	CreateCheckoutSession(ctx context.Context, r CheckoutRequest, idempotencyKey string) (CheckoutSession, error)
	// CheckoutSession reads a session as it is now.
	CheckoutSession(ctx context.Context, id string) (CheckoutSession, error)
	// ExpireCheckoutSession closes an open session so that it can no
	// longer be paid; a session that is no longer open is returned as it
	// is, without error.
	ExpireCheckoutSession(ctx context.Context, id string) (CheckoutSession, error)
	// Charge creates and confirms a PaymentIntent with a saved method and
	// returns its state: Succeeded, or Processing for a bank account
	// (AwaitingVerification when r.Microdeposits asks for micro-deposits
	// first). A refused charge is EDECLINED wrapping a *Decline.
	Charge(ctx context.Context, r ChargeRequest, idempotencyKey string) (Payment, error)
	// CreateBankMethod turns bank details into a us_bank_account
	// PaymentMethod attached to the customer. Details that fail Validate
	// are EINVALID and nothing is sent to Stripe.
	CreateBankMethod(ctx context.Context, customerID string, d BankAccountDetails, idempotencyKey string) (SavedMethod, error)
	// VerifyMicrodeposits reports the customer's micro-deposit amounts or
	// code for a PaymentIntent awaiting verification and returns the
	// payment as it is after (Processing on success). Values that do not
	// match are EINVALID, the message saying how many attempts are left;
	// the last failed attempt fails the payment, EDECLINED wrapping a
	// *Decline. A PaymentIntent not awaiting verification is ECONFLICT.
	// Each attempt needs its own idempotency key.
	VerifyMicrodeposits(ctx context.Context, paymentIntentID string, v MicrodepositVerification, idempotencyKey string) (Payment, error)
	// SavedMethods lists the customer's cards and bank accounts, the
	// default one marked.
	SavedMethods(ctx context.Context, customerID string) ([]SavedMethod, error)
	// DetachMethod removes a saved method from its customer.
	DetachMethod(ctx context.Context, paymentMethodID string) error
	// SetDefaultMethod sets the customer's
	// invoice_settings.default_payment_method.
	SetDefaultMethod(ctx context.Context, customerID, paymentMethodID string) error
	// BillingPortalURL opens a Stripe Billing Portal session for the
	// customer and returns its short-lived URL.
	BillingPortalURL(ctx context.Context, customerID, returnURL string) (string, error)

	// EventSession decodes the Checkout Session a checkout.session.*
	// event carries; ok is false for any other event.
	EventSession(e Event) (s CheckoutSession, ok bool)
	// EventMethodCustomer returns the customer whose saved methods a
	// payment_method.attached/detached/updated or customer.updated event
	// changed (for a detach, the customer it was detached from); ok is
	// false for any other event.
	EventMethodCustomer(e Event) (customerID string, ok bool)
}

// Reservation holds part of an invoice's balance for a payment in
// progress (an open Checkout Session, a charge being confirmed), so that
// two payers can never together pay more than the balance: the ledger
// refuses a reservation that does not fit before Stripe is called.
type Reservation struct {
	// Key identifies the reservation: it is derived from the pay page's
	// form nonce or the request, so a repeat of one submit reserves once.
	Key       string
	InvoiceID string
	Amount    Money
	// Holder is who reserved: a pay page visitor (a browser cookie) or a
	// staff member. A holder's new reservation for an invoice replaces
	// their older one (a customer who went back and changed the amount).
	Holder string
	// SessionID is the Checkout Session the reservation became, so that
	// a replaced reservation's session can be expired in Stripe.
	SessionID string
	// PaymentIntentID is the PaymentIntent it became, once known.
	PaymentIntentID string
	ExpiresAt       time.Time
}

// InvoiceView is an invoice with everything a payer sees of it.
type InvoiceView struct {
	Invoice  Invoice
	Rollup   Rollup
	Payments []Payment // oldest first
	// Reserved is the sum of the open reservations of other payers.
	Reserved Money
	// Payable is the most that can be paid now: balance − pending −
	// reserved, never below zero.
	Payable Money
}

// PayerView is what a payment of an invoice is decided on, read at once:
// the invoice as InvoiceView shows it, but with the rollup the ledger
// keeps (without Mismatched) and without its payments, and, as
// AccountMethods returns them, the Stripe customer of its account (""
// when the account is not bound) with the ledger's copy of the
// customer's saved methods and when that was read from Stripe.
type PayerView struct {
	InvoiceView
	CustomerID     string
	Methods        []SavedMethod
	MethodsFetched time.Time
}

// PayPage is what the pay page shows of an invoice, read at once: the
// invoice as InvoiceView shows it (its payments, and the rollup computed
// from them), its account's customer and saved methods as in PayerView,
// and the latest time its payment links were revoked (zero if never), so
// that the page checks its link without another read.
type PayPage struct {
	PayerView
	LinksRevokedAt time.Time
}

// CollectionLedger is the ledger's side of collection. Implemented by
// store.DB.
type CollectionLedger interface {
	// Reserve stores r if r.Amount fits in the invoice's balance less
	// pending less the other holders' unexpired reservations, replacing
	// (and returning) r.Holder's earlier reservations for the invoice. A
	// repeat of r.Key returns without change. An amount that does not fit
	// is EINVALID when it exceeds balance − pending and ECONFLICT when it
	// is other reservations that leave too little; nothing is stored.
	Reserve(ctx context.Context, r Reservation, now time.Time) (replaced []Reservation, err error)
	// BindReservation records the Checkout Session and/or PaymentIntent a
	// reservation became ("" leaves a field as it is).
	BindReservation(ctx context.Context, key, sessionID, paymentIntentID string) error
	// RecordCharge records p, the PaymentIntent a charge held by the
	// reservation with key became, as PaymentLedger.RecordPayment does,
	// and in the same transaction binds the reservation to it (one gone
	// is no error) and appends action, unless nil, to the staff audit
	// trail (StaffAudit.RecordStaffAction): one commit for what would be
	// three, all or nothing. It returns the payment as stored.
	RecordCharge(ctx context.Context, key string, p Payment, action *StaffAction) (Payment, error)
	// ReleaseReservation drops the reservation with key and returns it;
	// ok is false when there was none.
	ReleaseReservation(ctx context.Context, key string) (r Reservation, ok bool, err error)
	// ReleaseSession drops the reservation of a Checkout Session that
	// completed or expired, if any.
	ReleaseSession(ctx context.Context, sessionID string) error
	// HoldSession keeps the reservation of a Checkout Session that
	// completed with its payment not under way yet (a bank account
	// waiting for its micro-deposits to be confirmed): bound to the
	// PaymentIntent, it holds the amount until until, or until the
	// payment is recorded (processing or succeeded, when the payment
	// itself counts; failed or canceled, when it is released). A session
	// whose PaymentIntent is already recorded as failed or canceled is
	// released instead. No reservation for the session is not an error.
	HoldSession(ctx context.Context, sessionID, paymentIntentID string, until time.Time) error
	// InvoiceView returns the invoice with its rollup, payments and the
	// reservations of holders other than holder (ENOTFOUND if unknown).
	InvoiceView(ctx context.Context, invoiceID, holder string, now time.Time) (InvoiceView, error)
	// PayerView returns what a payment of the invoice is decided on
	// (ENOTFOUND if unknown), in one read: a payment needs less than
	// InvoiceView and AccountMethods together, which are three.
	PayerView(ctx context.Context, invoiceID, holder string, now time.Time) (PayerView, error)
	// PayPage returns what the pay page shows of the invoice (ENOTFOUND
	// if unknown) in one read, where InvoiceView, AccountMethods and
	// LinksRevokedAt are four.
	PayPage(ctx context.Context, invoiceID, holder string, now time.Time) (PayPage, error)
	// AccountInvoices returns the account's invoices with their rollups,
	// newest due date first.
	AccountInvoices(ctx context.Context, accountID string) ([]InvoiceView, error)

	// RevokeLinks makes every link to invoiceID issued before at stop
	// working; LinksRevokedAt returns the latest such time (zero if none).
	RevokeLinks(ctx context.Context, invoiceID string, at time.Time) error
	LinksRevokedAt(ctx context.Context, invoiceID string) (time.Time, error)

	// AccountMethods returns the Stripe customer a CRM account is bound
	// to ("" when it is not bound), the ledger's copy of its saved
	// methods and when that was read from Stripe (zero: never), in one
	// read.
	AccountMethods(ctx context.Context, accountID string) (customerID string, methods []SavedMethod, fetchedAt time.Time, err error)
	// SaveMethods replaces the ledger's copy of a customer's methods.
	SaveMethods(ctx context.Context, customerID string, methods []SavedMethod, at time.Time) error
	// StaleMethods marks the copy of a customer's methods out of date, so
	// that the next read asks Stripe; a customer never saved is no error.
	StaleMethods(ctx context.Context, customerID string) error

	// AwaitVerification remembers that v's payment waits for the
	// micro-deposits of its bank account, replacing an earlier payment
	// of the same account; PendingVerification finds it by the account's
	// payment method (ENOTFOUND when none waits).
	AwaitVerification(ctx context.Context, v PendingVerification) error
	PendingVerification(ctx context.Context, paymentMethodID string) (PendingVerification, error)
}

// IssuedLink is the payment link the daemon last issued for an invoice,
// as the ledger keeps it, and so the one it wants Payment_Link__c to show.
type IssuedLink struct {
	InvoiceID string
	// URL is STRIPESYNC_PUBLIC_URL/pay/{token}; "" after staff revoked
	// the invoice's links, which keeps the field clear until staff issue
	// a new one.
	URL       string
	IssuedAt  time.Time
	ExpiresAt time.Time // zero when URL is ""
}

// Set reports whether a link was ever issued (or revoked) for the
// invoice: only then does the daemon own Payment_Link__c. A link staff
// typed into the CRM themselves is left alone.
func (l IssuedLink) Set() bool { return !l.IssuedAt.IsZero() }

// LinkWrite says what Payment_Link__c should become for an invoice whose
// rollup is r and whose issued link is l, and whether that differs from
// what the CRM holds (inv.PaymentLink). A Paid or Void invoice shows no
// link; otherwise the field shows the issued link, or nothing after a
// revocation; an invoice the daemon never issued a link for is left as
// it is.
func LinkWrite(inv Invoice, r Rollup, l IssuedLink) (link string, write bool) {
	switch {
	case r.Status == InvoicePaid || inv.Status == InvoiceVoid || r.Status == InvoiceVoid:
		link = ""
	case l.Set():
		link = l.URL
	default:
		return inv.PaymentLink, false
	}
	return link, link != inv.PaymentLink
}

// Payable reports why no payment link can be issued for an invoice with
// rollup r: ECONFLICT for a deleted, Draft, Void or fully paid one. It is
// nil when the invoice has a balance to pay.
func Payable(inv Invoice, r Rollup) error {
	switch {
	case inv.Deleted:
		return Errorf(ENOTFOUND, "invoice %s was deleted in the CRM", inv.ID)
	case inv.Status == InvoiceDraft:
		return Errorf(ECONFLICT, "invoice %s is a draft: no payment link until it is issued (Open)", inv.Number)
	case inv.Status == InvoiceVoid:
		return Errorf(ECONFLICT, "invoice %s is void: it cannot be paid", inv.Number)
	case r.Balance.Amount <= 0:
		return Errorf(ECONFLICT, "invoice %s has no balance due: nothing to pay", inv.Number)
	}
	return nil
}

// PaymentLinkLedger is the ledger's record of issued payment links.
// Implemented by store.DB.
type PaymentLinkLedger interface {
	// SavePaymentLinks stores the links as the invoices' issued links and,
	// in the same transaction, enqueues a JobCRMInvoice for each invoice
	// (so Payment_Link__c is written) and the jobs given (a
	// JobSendPaymentLink). An unknown invoice is ENOTFOUND and nothing is
	// stored.
	SavePaymentLinks(ctx context.Context, links []IssuedLink, jobs ...Job) error
	// IssuedLinks returns the issued links of the invoices among ids that
	// have one (IssuedLink.Set), keyed by invoice id.
	IssuedLinks(ctx context.Context, ids []string) (map[string]IssuedLink, error)
	// InvoicesWanting lists, among ids, the invoices that should get a
	// link automatically at now: not deleted, Open or Partially Paid with
	// a balance due, no Payment_Link__c in the CRM, and no issued link
	// (or only one that expired by now; a revocation counts as issued).
	InvoicesWanting(ctx context.Context, ids []string, now time.Time) ([]string, error)
}

// LinkRevocations is the part of CollectionLedger that revokes links.
type LinkRevocations interface {
	RevokeLinks(ctx context.Context, invoiceID string, at time.Time) error
	LinksRevokedAt(ctx context.Context, invoiceID string) (time.Time, error)
}
