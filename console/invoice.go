package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
)

// searchLimit bounds a search's list: staff refine a query rather than
// scroll.
const searchLimit = 50

// searchPage is GET /staff/invoices?q=…: the search form and what it
// found. A query that names exactly one invoice, by its number or id,
// opens it.
func (h *Handler) searchPage(w http.ResponseWriter, r *http.Request, s session) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{Query: q, Notice: h.takeNotice(w, r, s.CSRF)}
	if q != "" {
		found, err := h.cfg.Search(r.Context(), q, searchLimit)
		if err != nil && stripesync.CodeOf(err) != stripesync.EINVALID {
			h.fail(w, r, err)
			return
		}
		if err != nil {
			d.Error = stripesync.MessageOf(err)
		}
		if len(found) == 1 && (strings.EqualFold(found[0].Number, q) || found[0].ID == q) {
			http.Redirect(w, r, invoicePath(found[0].ID), http.StatusSeeOther)
			return
		}
		d.Results, d.Searched, d.More = found, true, len(found) == searchLimit
	}
	h.renderStaff(w, r, http.StatusOK, "search", s, d)
}

func invoicePath(id string) string { return "/staff/invoices/" + id }

// invoicePage is GET /staff/invoices/{id}.
func (h *Handler) invoicePage(w http.ResponseWriter, r *http.Request, s session) {
	h.showInvoice(w, r, s, http.StatusOK, formState{Notice: h.takeNotice(w, r, s.CSRF)})
}

// formState is what a submitted form leaves on the page it is shown again
// on: which form failed and why, and what staff typed (never an account
// number, which is typed again).
type formState struct {
	Notice string
	// Failed names the form an error belongs to: "saved", "card", "bank",
	// "link", "verify-<pm>" or "receipt-<payment>".
	Failed, Error string
	Amount        string
	Routing       string
	HolderType    string
	HolderName    string
}

// showInvoice renders the invoice page with state.
func (h *Handler) showInvoice(w http.ResponseWriter, r *http.Request, s session, status int, state formState) {
	ctx := r.Context()
	id := r.PathValue("id")
	d, err := h.cfg.Payments.View(ctx, id, s.Staff)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	waiting, err := h.cfg.Verifications(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page := invoiceData{
		Detail: d, State: state, Key: randomToken(),
		CanSendLink:   h.cfg.SendLink != nil && stripesync.Payable(d.View.Invoice, d.View.Rollup) == nil,
		BankAllowed:   d.View.Invoice.Total.Currency == "USD",
		CanPay:        d.View.Payable.Amount > 0 && stripesync.Payable(d.View.Invoice, d.View.Rollup) == nil,
		AccountName:   h.accountName(ctx, id),
		Payments:      h.paymentRows(d.View.Payments),
		Verifications: verificationRows(d.View.Payments, d.Methods, waiting),
	}
	if h.cfg.PublishableKey != "" {
		page.Card = &cardConfig{
			JSURL: h.cfg.StripeJSURL, Key: h.cfg.PublishableKey, Account: h.cfg.StripeAccount,
			Currency: strings.ToLower(d.View.Invoice.Total.Currency), Amount: d.View.Payable.Amount,
		}
	}
	page.Chosen = chosenMethod(d.Methods)
	if page.State.Amount == "" && page.CanPay {
		page.State.Amount = d.View.Payable.Decimal()
	}
	if page.State.HolderType == "" {
		page.State.HolderType = "individual"
	}
	if state.Error != "" && !page.formShown(state.Failed) {
		// The form is gone (the invoice was paid meanwhile, say): the
		// error goes to the top of the page instead.
		page.TopError = state.Error
	}
	h.renderStaff(w, r, status, "invoice", s, page)
}

// chosenMethod is the saved method the form starts on: the customer's
// default, or the first.
func chosenMethod(ms []stripesync.SavedMethod) string {
	for _, m := range ms {
		if m.Default {
			return m.ID
		}
	}
	if len(ms) > 0 {
		return ms[0].ID
	}
	return ""
}

// formShown reports whether the page shows the form named name (see
// formState.Failed), and so the error next to it.
func (d invoiceData) formShown(name string) bool {
	switch {
	case name == "saved":
		return d.CanPay && len(d.Detail.Methods) > 0
	case name == "card":
		return d.CanPay && d.Card != nil
	case name == "bank":
		return d.CanPay && d.BankAllowed
	case name == "link":
		return d.CanSendLink
	case strings.HasPrefix(name, "verify-"):
		for _, v := range d.Verifications {
			if "verify-"+v.PaymentMethodID == name {
				return true
			}
		}
	case strings.HasPrefix(name, "receipt-"):
		for _, p := range d.Payments {
			if "receipt-"+p.ID == name {
				return p.ReceiptURL != ""
			}
		}
	}
	return false
}

// accountName is the name of the invoice's account for the heading; ""
// when the ledger has none (a failure here only costs the heading).
func (h *Handler) accountName(ctx context.Context, invoiceID string) string {
	found, err := h.cfg.Search(ctx, invoiceID, 1)
	if err != nil || len(found) != 1 || found[0].ID != invoiceID {
		return ""
	}
	return found[0].AccountName
}

// paymentRows lists the invoice's payments with their receipt links.
func (h *Handler) paymentRows(ps []stripesync.Payment) []paymentRow {
	rows := make([]paymentRow, 0, len(ps))
	for _, p := range ps {
		row := paymentRow{Payment: p, Status: statusText(p)}
		if p.Status == stripesync.PaymentSucceeded && p.ReceiptNumber != "" && h.cfg.Payments.ReceiptURL != nil {
			row.ReceiptURL = h.cfg.Payments.ReceiptURL(p.ID)
		}
		rows = append(rows, row)
	}
	return rows
}

// statusText says a payment's state as staff need it.
func statusText(p stripesync.Payment) string {
	switch p.Status {
	case stripesync.PaymentSucceeded:
		return p.CRMStatus()
	case stripesync.PaymentAwaitingVerification:
		return "Awaiting verification of the bank account"
	case stripesync.PaymentProcessing:
		return "Processing (paid when the bank settles it)"
	case stripesync.PaymentFailed:
		if p.FailureReason != "" {
			return "Failed: " + p.FailureReason
		}
	}
	return string(p.Status)
}

// verificationRows pairs the bank accounts waiting for micro-deposits with
// their payments and, to name them, the customer's saved methods: a
// payment shows no account until its debit starts.
func verificationRows(ps []stripesync.Payment, methods []stripesync.SavedMethod, waiting []stripesync.PendingVerification) []verificationRow {
	byID := make(map[string]stripesync.Payment, len(ps))
	for _, p := range ps {
		byID[p.ID] = p
	}
	labels := make(map[string]string, len(methods))
	for _, m := range methods {
		labels[m.ID] = m.Label()
	}
	var rows []verificationRow
	for _, v := range waiting {
		row := verificationRow{PaymentMethodID: v.PaymentMethodID, Payment: byID[v.PaymentIntentID], Account: labels[v.PaymentMethodID]}
		if row.Account == "" {
			row.Account = row.Payment.MethodDetail
		}
		if row.Account == "" {
			row.Account = "the bank account"
		}
		rows = append(rows, row)
	}
	return rows
}

// takePayment is POST /staff/invoices/{id}/payments: one of the three
// payment forms. The form's key, fresh on every render, is the payment's
// idempotency key, so a form sent twice pays once.
func (h *Handler) takePayment(w http.ResponseWriter, r *http.Request, s session) {
	f := r.PostForm
	kind := f.Get("kind")
	state := formState{
		Failed: kind, Amount: strings.TrimSpace(f.Get("amount")),
		Routing: strings.TrimSpace(f.Get("routing_number")), HolderType: f.Get("holder_type"),
		HolderName: strings.TrimSpace(f.Get("holder_name")),
	}
	req := httpapi.PaymentRequest{InvoiceID: r.PathValue("id"), Staff: s.Staff, RequestKey: "console-" + f.Get("key"), Amount: state.Amount}
	var problem string
	switch kind {
	case "saved", "card":
		req.PaymentMethodID = f.Get("payment_method")
		switch {
		case kind == "saved" && req.PaymentMethodID == "":
			problem = "Choose one of the customer's saved methods."
		case kind == "card" && !strings.HasPrefix(req.PaymentMethodID, "pm_"):
			problem = "The card details did not reach Stripe. Check that JavaScript is on, then type the card again."
		}
	case "bank":
		req.Bank = &stripesync.BankAccountDetails{
			RoutingNumber: state.Routing, AccountNumber: strings.TrimSpace(f.Get("account_number")),
			HolderType: state.HolderType, HolderName: state.HolderName,
		}
		if f.Get("authorized") != "yes" {
			problem = "Read the debit authorisation to the customer and tick the box once they agree."
		}
	default:
		h.forbidden(w, r)
		return
	}
	if problem == "" && !validToken(f.Get("key")) {
		problem = "The form could not be read; reload the page and try again."
	}
	if problem != "" {
		state.Error = problem
		h.showInvoice(w, r, s, http.StatusBadRequest, state)
		return
	}
	p, _, err := h.cfg.Payments.Take(r.Context(), req)
	if err != nil {
		h.formFailed(w, r, s, state, err)
		return
	}
	h.setNotice(w, s.CSRF, paymentNotice(p))
	http.Redirect(w, r, invoicePath(req.InvoiceID), http.StatusSeeOther)
}

// formFailed shows the invoice again with err next to the form that
// failed, in plain words.
func (h *Handler) formFailed(w http.ResponseWriter, r *http.Request, s session, state formState, err error) {
	status := httpapi.Status(err)
	if status >= 500 {
		h.cfg.Logger.Error("console action failed", "path", r.URL.Path, "staff", s.Staff, "error", err)
	}
	state.Error = staffMessage(err)
	h.showInvoice(w, r, s, status, state)
}

// paymentNotice says what became of a payment just taken.
func paymentNotice(p stripesync.Payment) string {
	what := "The payment of " + p.Amount.String()
	if p.MethodDetail != "" {
		what += " by " + p.MethodDetail
	}
	switch p.Status {
	case stripesync.PaymentSucceeded:
		return what + " went through. The receipt is on its way to the customer."
	case stripesync.PaymentAwaitingVerification:
		return what + " waits for the bank account to be verified: Stripe sends two small deposits to it in one or two business days. " +
			"When the customer reads them back, enter them below."
	case stripesync.PaymentProcessing:
		return what + " is processing: it is paid when the bank settles it, in a few business days."
	}
	return what + " is " + string(p.Status) + "."
}

// verify is POST /staff/invoices/{id}/verify: the micro-deposits of one of
// the invoice's bank accounts, as two amounts in cents or the code.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request, s session) {
	f := r.PostForm
	invoiceID, pm := r.PathValue("id"), f.Get("payment_method")
	state := formState{Failed: "verify-" + pm}
	waiting, err := h.cfg.Verifications(r.Context(), invoiceID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !waitingFor(waiting, pm) {
		state.Error = "That bank account is not waiting for verification on this invoice any more."
		h.showInvoice(w, r, s, http.StatusNotFound, state)
		return
	}
	v, err := readDeposits(f.Get("amount1"), f.Get("amount2"), f.Get("code"))
	if err == nil {
		_, err = h.cfg.Payments.Verify(r.Context(), pm, s.Staff, v)
	}
	if err != nil {
		h.formFailed(w, r, s, state, err)
		return
	}
	h.setNotice(w, s.CSRF, "The bank account is verified. The payment is processing: it is paid when the bank settles it, in a few business days.")
	http.Redirect(w, r, invoicePath(invoiceID), http.StatusSeeOther)
}

func waitingFor(waiting []stripesync.PendingVerification, pm string) bool {
	for _, v := range waiting {
		if v.PaymentMethodID == pm {
			return true
		}
	}
	return false
}

// readDeposits reads the verify form: the code, or two amounts in cents
// ("32", or "0.32" as the bank statement shows it).
func readDeposits(a1, a2, code string) (stripesync.MicrodepositVerification, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	a1, a2 = strings.TrimSpace(a1), strings.TrimSpace(a2)
	var v stripesync.MicrodepositVerification
	switch {
	case code != "" && (a1 != "" || a2 != ""):
		return v, stripesync.Errorf(stripesync.EINVALID, "Enter either the two amounts or the code, not both.")
	case code != "":
		v.DescriptorCode = code
	default:
		for _, a := range []string{a1, a2} {
			cents, ok := depositCents(a)
			if !ok {
				return v, stripesync.Errorf(stripesync.EINVALID, "Enter both deposits in cents, such as 32 and 45 (each less than a dollar), or the code.")
			}
			v.Amounts = append(v.Amounts, cents)
		}
	}
	return v, v.Validate()
}

func depositCents(s string) (int64, bool) {
	if strings.Contains(s, ".") {
		m, err := stripesync.ParseMoney(s, "USD")
		return m.Amount, err == nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// sendLink is POST /staff/invoices/{id}/payment-link: a new payment link,
// e-mailed to the customer.
func (h *Handler) sendLink(w http.ResponseWriter, r *http.Request, s session) {
	invoiceID := r.PathValue("id")
	state := formState{Failed: "link"}
	if h.cfg.SendLink == nil {
		state.Error = "Payment links are off on this daemon (they need STRIPESYNC_SIGNING_KEY and mail)."
		h.showInvoice(w, r, s, http.StatusBadRequest, state)
		return
	}
	key := r.PostForm.Get("key")
	if !validToken(key) {
		state.Error = "The form could not be read; reload the page and try again."
		h.showInvoice(w, r, s, http.StatusBadRequest, state)
		return
	}
	email, err := h.cfg.SendLink(r.Context(), invoiceID, s.Staff, "console-"+key)
	if err != nil {
		h.formFailed(w, r, s, state, err)
		return
	}
	h.setNotice(w, s.CSRF, "A new payment link is on its way to "+email+". Earlier links keep working until they expire.")
	http.Redirect(w, r, invoicePath(invoiceID), http.StatusSeeOther)
}

// resendReceipt is POST /staff/invoices/{id}/receipts: one of the
// invoice's receipts e-mailed again.
func (h *Handler) resendReceipt(w http.ResponseWriter, r *http.Request, s session) {
	invoiceID, paymentID := r.PathValue("id"), r.PostForm.Get("payment")
	state := formState{Failed: "receipt-" + paymentID}
	d, err := h.cfg.Payments.View(r.Context(), invoiceID, s.Staff)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !hasPayment(d.View.Payments, paymentID) {
		state.Error = "That payment is not one of this invoice's."
		h.showInvoice(w, r, s, http.StatusNotFound, state)
		return
	}
	email, err := h.cfg.Payments.ResendReceipt(r.Context(), paymentID, s.Staff)
	if err != nil {
		h.formFailed(w, r, s, state, err)
		return
	}
	h.setNotice(w, s.CSRF, "The receipt was e-mailed again to "+email+".")
	http.Redirect(w, r, invoicePath(invoiceID), http.StatusSeeOther)
}

func hasPayment(ps []stripesync.Payment, id string) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}
