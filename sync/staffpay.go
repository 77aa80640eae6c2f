package sync

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// StaffPayRequest is a payment staff take for a customer on the phone.
type StaffPayRequest struct {
	InvoiceID string
	// Staff is who takes it, as the staff token file names them.
	Staff string
	// RequestKey is the request's Idempotency-Key. The reservation, its
	// holder and the Stripe idempotency key derive from it, so a retried
	// request pays once, and two requests, even from one staff member,
	// never share a holder (a holder's new reservation would replace the
	// other's and let the two overpay together).
	RequestKey string
	// Amount is a decimal amount in the invoice's currency, as staff
	// typed it ("25.00").
	Amount string
	// PaymentMethodID is one of the customer's saved methods, or a card
	// the console's Stripe.js has just turned into a PaymentMethod (which
	// is charged, not saved). Exactly one of it and Bank is set.
	PaymentMethodID string
	// Bank are the details of a US bank account the customer read out:
	// it is saved on the customer and debited once the customer reports
	// its micro-deposits (Collection.VerifyBank). USD invoices only.
	Bank *stripesync.BankAccountDetails
	// MOTO flags a card payment as taken over the phone
	// (STRIPESYNC_MOTO).
	MOTO bool
}

// StaffPayment is a payment staff took, with the method it was taken
// with: a bank account's is what VerifyBank is later asked with.
type StaffPayment struct {
	stripesync.Payment
	PaymentMethodID string
}

// StaffPay takes a staff payment. The amount is reserved against the
// invoice before Stripe is called, so that staff (and the pay page, and
// auto-pay) can never together pay more than the balance: an amount that
// does not fit is ECONFLICT "Only 15.00 USD is left to pay on INV-1002"
// and nothing is charged.
//
// Every attempt that names an invoice is written to the audit trail with
// its outcome, refusals included. A card payment that went through is
// written in the transaction that records it and binds its reservation
// (Collection.charge), so that its answer waits for one commit where it
// waited for three; any other outcome is written afterwards.
func (c *Collection) StaffPay(ctx context.Context, r StaffPayRequest) (StaffPayment, error) {
	var audit *stripesync.StaffAction
	if r.Staff != "" && r.InvoiceID != "" && c.audit != nil {
		audit = &stripesync.StaffAction{
			Staff: r.Staff, Action: stripesync.StaffActionPayment, InvoiceID: r.InvoiceID, Detail: r.detail(),
		}
	}
	p, audited, err := c.staffPay(ctx, r, audit)
	if audit != nil && !audited && stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		a := *audit
		a.PaymentID = p.ID
		recordStaffAction(ctx, c.audit, c.logger, c.now(), a, err)
	}
	return p, err
}

// detail is what the audit trail says was asked: the amount and the
// method, a bank account by its last four digits only.
func (r StaffPayRequest) detail() string {
	if r.Bank != nil {
		return r.Amount + " from bank account " + r.Bank.Masked() + " (" + r.Bank.HolderType + ", " + r.Bank.HolderName + ")"
	}
	return r.Amount + " with " + r.PaymentMethodID
}

// recordStaffAction appends a, stamped now and with err's plain-words
// message as its outcome, to audit (nil keeps no trail). A failure to
// record is logged: the action itself has happened and its answer must
// reach staff.
func recordStaffAction(ctx context.Context, audit stripesync.StaffAudit, logger *slog.Logger, now time.Time, a stripesync.StaffAction, err error) {
	if audit == nil {
		return
	}
	a.At, a.Outcome = now, "ok"
	if err != nil {
		a.Outcome = stripesync.MessageOf(err)
	}
	if err := audit.RecordStaffAction(context.WithoutCancel(ctx), a); err != nil {
		logger.Warn("record staff action", "staff", a.Staff, "action", a.Action, "invoice_id", a.InvoiceID, "error", err)
	}
}

// StaffView loads an invoice as staff see it: what the pay page shows
// (for a holder of their own, so that no reservation is taken for theirs)
// and the audit trail, oldest first.
func (c *Collection) StaffView(ctx context.Context, invoiceID, staff string) (PayView, []stripesync.StaffAction, error) {
	v, err := c.PayView(ctx, invoiceID, "staff:"+staff)
	if err != nil || c.audit == nil {
		return v, nil, err
	}
	actions, err := c.audit.StaffActions(ctx, invoiceID)
	return v, actions, err
}

// staffPay takes the payment StaffPay describes; audited reports that
// audit (unless nil) was recorded with it.
func (c *Collection) staffPay(ctx context.Context, r StaffPayRequest, audit *stripesync.StaffAction) (_ StaffPayment, audited bool, _ error) {
	if r.Staff == "" || r.RequestKey == "" {
		return StaffPayment{}, false, stripesync.Errorf(stripesync.EINVALID, "a staff payment needs the staff member and an Idempotency-Key")
	}
	if (r.PaymentMethodID == "") == (r.Bank == nil) {
		return StaffPayment{}, false, stripesync.Errorf(stripesync.EINVALID, "Give either a payment method or bank account details")
	}
	holder := "staff:" + r.Staff + ":" + r.RequestKey
	v, err := c.chargeView(ctx, r.InvoiceID, holder)
	if err != nil {
		return StaffPayment{}, false, err
	}
	switch {
	case v.Open:
	case v.Rollup.Status == stripesync.InvoicePaid || v.Rollup.Balance.Amount <= 0:
		// The answer of a payment that came too late is the one of a
		// payment that does not fit, whichever payment it lost to.
		return StaffPayment{}, false, stripesync.Errorf(stripesync.ECONFLICT, "Only %s is left to pay on %s: it is %s",
			stripesync.Money{Currency: v.Invoice.Total.Currency}, v.Invoice.Number, v.Rollup.Status)
	default:
		return StaffPayment{}, false, stripesync.Errorf(stripesync.ECONFLICT, "Invoice %s cannot be paid: it is %s", v.Invoice.Number, v.Rollup.Status)
	}
	amount, err := stripesync.ParseMoney(r.Amount, v.Invoice.Total.Currency)
	if err != nil {
		return StaffPayment{}, false, stripesync.WrapError(stripesync.EINVALID, err,
			"The amount %q is not an amount of %s, such as 25.00", r.Amount, v.Invoice.Total.Currency)
	}
	if err := checkCharge(v, amount); err != nil {
		return StaffPayment{}, false, err
	}
	if v.CustomerID == "" {
		return StaffPayment{}, false, stripesync.Errorf(stripesync.ECONFLICT,
			"The account of %s is not in Stripe yet; try again after the next account sync", v.Invoice.Number)
	}
	if r.Bank != nil {
		p, err := c.staffBankPay(ctx, r, v, holder, amount)
		return p, false, err
	}
	req := stripesync.ChargeRequest{
		CustomerID: v.CustomerID, PaymentMethodID: r.PaymentMethodID, InvoiceID: v.Invoice.ID,
		Amount: amount, Channel: stripesync.ChannelPhone,
		Description: "Invoice " + v.Invoice.Number,
		// A method not saved is a card the console's Stripe.js made, and
		// MOTO applies to cards only: Charge ignores it for a bank
		// account.
		MOTO: r.MOTO,
	}
	if i := slices.IndexFunc(v.Methods, func(m stripesync.SavedMethod) bool { return m.ID == r.PaymentMethodID }); i >= 0 {
		req.MOTO = r.MOTO && v.Methods[i].Type == stripesync.MethodTypeCard
		// A saved method is the customer's: no read to check it.
		req.MethodType = v.Methods[i].Type
	} else if !strings.HasPrefix(r.PaymentMethodID, "pm_") {
		return StaffPayment{}, false, stripesync.Errorf(stripesync.EINVALID, "%q is not a payment method id (pm_…)", r.PaymentMethodID)
	}
	if err := c.reserve(ctx, stripesync.Reservation{
		Key: holder, InvoiceID: v.Invoice.ID, Amount: amount, Holder: holder,
		ExpiresAt: c.now().Add(chargeHold),
	}); err != nil {
		return StaffPayment{}, false, c.shortfall(ctx, err, v, holder)
	}
	p, err := c.charge(ctx, v, holder, req, stripesync.IdempotencyKey("staffpay", v.Invoice.ID, r.Staff, r.RequestKey), staffRepeat, audit)
	return StaffPayment{Payment: p, PaymentMethodID: req.PaymentMethodID}, audit != nil && err == nil, err
}

// staffBankPay takes a payment from bank details read out on the phone:
// the amount is reserved, the account saved on the customer, and the
// debit confirmed with micro-deposit verification and the mandate the
// customer gave staff (offline). The payment then waits, Awaiting
// Verification and counted as pending, until VerifyBank.
func (c *Collection) staffBankPay(ctx context.Context, r StaffPayRequest, v PayView, holder string, amount stripesync.Money) (StaffPayment, error) {
	if !v.BankAllowed {
		return StaffPayment{}, stripesync.Errorf(stripesync.EINVALID,
			"A US bank account can pay only USD invoices; %s is in %s", v.Invoice.Number, v.Invoice.Total.Currency)
	}
	if err := r.Bank.Validate(); err != nil {
		return StaffPayment{}, err
	}
	// The reservation holds while the customer looks for the deposits;
	// once the payment is recorded the payment itself counts instead.
	if err := c.reserve(ctx, stripesync.Reservation{
		Key: holder, InvoiceID: v.Invoice.ID, Amount: amount, Holder: holder,
		ExpiresAt: c.now().Add(microdepositHold),
	}); err != nil {
		return StaffPayment{}, c.shortfall(ctx, err, v, holder)
	}
	stripeKey := stripesync.IdempotencyKey("staffpay", v.Invoice.ID, r.Staff, r.RequestKey)
	method, err := c.collector.CreateBankMethod(ctx, v.CustomerID, *r.Bank, stripeKey+":method")
	if err != nil {
		// Nothing was charged: a retry creates the same method under the
		// same key.
		c.release(ctx, holder)
		if stripesync.CodeOf(err) == stripesync.EINVALID {
			return StaffPayment{}, err
		}
		return StaffPayment{}, c.payerError(err, "save a bank account")
	}
	p, err := c.charge(ctx, v, holder, stripesync.ChargeRequest{
		CustomerID: v.CustomerID, PaymentMethodID: method.ID, InvoiceID: v.Invoice.ID,
		Amount: amount, Channel: stripesync.ChannelPhone, Description: "Invoice " + v.Invoice.Number,
		// Accepted when staff read the authorization out; Stripe stamps
		// the time, which kept out of the parameters lets a retry under
		// the same key match them.
		Mandate:       &stripesync.MandateAcceptance{Offline: true},
		Microdeposits: true,
	}, stripeKey, staffRepeat, nil)
	if err == nil && p.Status == stripesync.PaymentAwaitingVerification {
		err = c.ledger.AwaitVerification(ctx, stripesync.PendingVerification{
			PaymentMethodID: method.ID, PaymentIntentID: p.ID, InvoiceID: v.Invoice.ID, Created: c.now(),
		})
		if err != nil {
			err = fmt.Errorf("record pending verification of %s: %w", p.ID, err)
		}
	}
	return StaffPayment{Payment: p, PaymentMethodID: method.ID}, err
}

// VerifyRequest is what a customer read back to staff for a bank account
// that waits for its micro-deposits.
type VerifyRequest struct {
	Staff           string
	PaymentMethodID string // the account, as the payment's answer named it
	Verification    stripesync.MicrodepositVerification
}

// VerifyBank reports the customer's micro-deposits for the staff payment
// waiting on bank account r.PaymentMethodID and returns the payment as it
// is after: Processing once the account is verified and the debit
// started, then Succeeded on settlement (the webhook tells). Wrong values
// are EINVALID with the attempts left; the last wrong one fails the
// payment, which is recorded as failed (EDECLINED). Every attempt is in
// the audit trail.
func (c *Collection) VerifyBank(ctx context.Context, r VerifyRequest) (stripesync.Payment, error) {
	pending, err := c.ledger.PendingVerification(ctx, r.PaymentMethodID)
	if err != nil {
		return stripesync.Payment{}, err
	}
	p, err := c.verifyBank(ctx, r, pending)
	recordStaffAction(ctx, c.audit, c.logger, c.now(), stripesync.StaffAction{
		Staff: r.Staff, Action: stripesync.StaffActionVerification, InvoiceID: pending.InvoiceID,
		PaymentID: pending.PaymentIntentID, Detail: verificationDetail(r.Verification),
	}, err)
	return p, err
}

func (c *Collection) verifyBank(ctx context.Context, r VerifyRequest, pending stripesync.PendingVerification) (stripesync.Payment, error) {
	if r.Staff == "" {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID, "a verification needs the staff member")
	}
	if err := r.Verification.Validate(); err != nil {
		return stripesync.Payment{}, err
	}
	// Each attempt under a key of its own values: a retry of one attempt
	// replays its answer, a new attempt is a new call.
	key := stripesync.IdempotencyKey("verify", pending.PaymentIntentID, verificationDetail(r.Verification))
	p, err := c.collector.VerifyMicrodeposits(ctx, pending.PaymentIntentID, r.Verification, key)
	switch stripesync.CodeOf(err) {
	case "":
	case stripesync.EDECLINED:
		// The payment failed for good: record it now, so that the
		// invoice and the CRM show it without waiting for the webhook.
		if failed, rerr := c.billing.PaymentIntent(ctx, pending.PaymentIntentID); rerr == nil {
			c.record(ctx, failed, pending.InvoiceID)
		}
		return stripesync.Payment{}, err
	default:
		return stripesync.Payment{}, err
	}
	return c.record(ctx, p, pending.InvoiceID), nil
}

// record stores a payment Stripe just returned, completing what the
// PaymentIntent alone does not say; a failure is logged, as the webhook
// and the pull record it too.
func (c *Collection) record(ctx context.Context, p stripesync.Payment, invoiceID string) stripesync.Payment {
	if p.InvoiceID == "" {
		p.InvoiceID = invoiceID
	}
	if p.AccountID == "" {
		if inv, _, err := c.payments.Invoice(ctx, p.InvoiceID); err == nil {
			p.AccountID = inv.AccountID
		}
	}
	stored, _, err := c.payments.RecordPayment(ctx, p)
	if err != nil {
		c.logger.Warn("record payment", "payment_id", p.ID, "error", err)
		return p
	}
	return stored
}

// verificationDetail is what the customer read back, as the audit trail
// and the idempotency key name it.
func verificationDetail(v stripesync.MicrodepositVerification) string {
	if v.DescriptorCode != "" {
		return "code " + v.DescriptorCode
	}
	amounts := make([]string, len(v.Amounts))
	for i, a := range v.Amounts {
		amounts[i] = strconv.FormatInt(a, 10)
	}
	return "amounts " + strings.Join(amounts, ", ")
}

// shortfall turns the ledger's refusal of an amount that does not fit
// (beyond the balance, or beyond what other payments in progress leave)
// into the one answer staff get, naming what is left now.
func (c *Collection) shortfall(ctx context.Context, err error, v PayView, holder string) error {
	switch stripesync.CodeOf(err) {
	case stripesync.EINVALID, stripesync.ECONFLICT:
	default:
		return err
	}
	left := v.Payable
	if now, verr := c.ledger.InvoiceView(ctx, v.Invoice.ID, holder, c.now()); verr == nil {
		left = now.Payable
	}
	return stripesync.WrapError(stripesync.ECONFLICT, err, "Only %s is left to pay on %s", left, v.Invoice.Number)
}

// staffRepeat answers a request whose key Stripe saw with other
// parameters.
func staffRepeat(err error, _ string) error {
	return stripesync.WrapError(stripesync.ECONFLICT, err, "This Idempotency-Key was already used for another payment")
}
