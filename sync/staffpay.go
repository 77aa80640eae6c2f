package sync

import (
	"context"
	"log/slog"
	"slices"
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
	// PaymentMethodID is one of the customer's saved methods.
	PaymentMethodID string
	// MOTO flags a card payment as taken over the phone
	// (STRIPESYNC_MOTO).
	MOTO bool
}

// StaffPay takes a staff payment. The amount is reserved against the
// invoice before Stripe is called, so that staff (and the pay page, and
// auto-pay) can never together pay more than the balance: an amount that
// does not fit is ECONFLICT "Only 15.00 USD is left to pay on INV-1002"
// and nothing is charged.
//
// Every attempt that names an invoice is written to the audit trail with
// its outcome, refusals included.
func (c *Collection) StaffPay(ctx context.Context, r StaffPayRequest) (stripesync.Payment, error) {
	p, err := c.staffPay(ctx, r)
	if r.Staff != "" && r.InvoiceID != "" && stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		recordStaffAction(ctx, c.audit, c.logger, c.now(), stripesync.StaffAction{
			Staff: r.Staff, Action: stripesync.StaffActionPayment, InvoiceID: r.InvoiceID, PaymentID: p.ID,
			Detail: r.Amount + " with " + r.PaymentMethodID,
		}, err)
	}
	return p, err
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

func (c *Collection) staffPay(ctx context.Context, r StaffPayRequest) (stripesync.Payment, error) {
	if r.Staff == "" || r.RequestKey == "" {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID, "a staff payment needs the staff member and an Idempotency-Key")
	}
	holder := "staff:" + r.Staff + ":" + r.RequestKey
	v, err := c.PayView(ctx, r.InvoiceID, holder)
	if err != nil {
		return stripesync.Payment{}, err
	}
	if !v.Open {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.ECONFLICT, "Invoice %s cannot be paid: it is %s", v.Invoice.Number, v.Rollup.Status)
	}
	amount, err := stripesync.ParseMoney(r.Amount, v.Invoice.Total.Currency)
	if err != nil {
		return stripesync.Payment{}, stripesync.WrapError(stripesync.EINVALID, err,
			"The amount %q is not an amount of %s, such as 25.00", r.Amount, v.Invoice.Total.Currency)
	}
	if err := checkCharge(v, amount); err != nil {
		return stripesync.Payment{}, err
	}
	i := slices.IndexFunc(v.Methods, func(m stripesync.SavedMethod) bool { return m.ID == r.PaymentMethodID })
	if i < 0 {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID, "Payment method %s is not one of this customer's saved methods", r.PaymentMethodID)
	}
	method := v.Methods[i]
	if err := c.reserve(ctx, stripesync.Reservation{
		Key: holder, InvoiceID: v.Invoice.ID, Amount: amount, Holder: holder,
		ExpiresAt: c.now().Add(chargeHold),
	}); err != nil {
		return stripesync.Payment{}, c.shortfall(ctx, err, v, holder)
	}
	req := stripesync.ChargeRequest{
		CustomerID: v.CustomerID, PaymentMethodID: method.ID, InvoiceID: v.Invoice.ID,
		Amount: amount, Channel: stripesync.ChannelPhone,
		Description: "Invoice " + v.Invoice.Number,
		MOTO:        r.MOTO && method.Type == stripesync.MethodTypeCard,
	}
	return c.charge(ctx, v, holder, req, stripesync.IdempotencyKey("staffpay", v.Invoice.ID, r.Staff, r.RequestKey), staffRepeat)
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
