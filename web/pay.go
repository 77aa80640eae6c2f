package web

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/links"
	syncer "github.com/stripesync/stripesync/sync"
)

// payForm is the pay page.
type payForm struct {
	Invoice  *invoiceSummary
	Payments []receiptLink
	Action   string
	Nonce    string
	Amount   string // as typed, or the payable amount
	Currency string
	Minimum  stripesync.Money
	Payable  stripesync.Money
	Reserved stripesync.Money
	Methods  []methodOption
	Bank     bool // a new US bank account may be used
	Chosen   string
	Error    string
	Business string
}

func (p payForm) title() string { return "Pay invoice " + p.Invoice.Number }

// methodOption is one radio button of the method choice.
type methodOption struct {
	Value string // "saved:pm_…", "card", "us_bank_account"
	Label string
	Bank  bool
}

// payLink resolves the token of a /pay/ request: its invoice, or a page
// already sent (ok false) for a link that is not valid or was revoked. An
// expired link is returned with expired set: it shows what was paid, never
// a form.
func (h *Handler) payLink(w http.ResponseWriter, r *http.Request) (l links.Link, expired, ok bool) {
	l, err := h.cfg.VerifyPay(r.Context(), r.PathValue("token"))
	return h.resolvePayLink(w, r, l, err)
}

// pageLink is payLink without the revocation, for a request that checks it
// with the invoice it reads (payableInvoice).
func (h *Handler) pageLink(w http.ResponseWriter, r *http.Request) (l links.Link, expired, ok bool) {
	l, err := h.cfg.ParsePay(r.PathValue("token"))
	return h.resolvePayLink(w, r, l, err)
}

// resolvePayLink is payLink and pageLink once the token is checked.
func (h *Handler) resolvePayLink(w http.ResponseWriter, r *http.Request, l links.Link, err error) (links.Link, bool, bool) {
	switch {
	case err == nil:
		return l, false, true
	case errors.Is(err, syncer.ErrLinkExpired):
		return l, true, true
	case stripesync.CodeOf(err) == stripesync.ENOTFOUND:
		h.notFound(w, r)
	default:
		h.fail(w, r, err)
	}
	return l, false, false
}

// payableInvoice loads the invoice of link l for the request's visitor,
// or sends the plain page that says why it cannot be paid now (ok false):
// not found for a link revoked since it was issued (an expired one shows
// what was paid, revoked or not, as VerifyPay decides).
func (h *Handler) payableInvoice(w http.ResponseWriter, r *http.Request, l links.Link, expired bool) (v syncer.PayView, holder string, ok bool) {
	holder = h.visitorOf(w, r)
	v, err := h.cfg.Collection.PayView(r.Context(), l.Subject, holder)
	if err != nil {
		h.fail(w, r, err)
		return v, holder, false
	}
	if !expired && l.RevokedBy(v.LinksRevokedAt) {
		h.notFound(w, r)
		return v, holder, false
	}
	if expired || !v.Open || !canPayNow(v) {
		h.closed(w, r, v, expired)
		return v, holder, false
	}
	return v, holder, true
}

func (h *Handler) payPage(w http.ResponseWriter, r *http.Request) {
	l, expired, ok := h.pageLink(w, r)
	if !ok {
		return
	}
	v, holder, ok := h.payableInvoice(w, r, l, expired)
	if !ok {
		return
	}
	h.renderForm(w, r, http.StatusOK, v, holder, "", v.Payable.Decimal(), "")
}

// canPayNow reports whether anything can be paid now: at least Stripe's
// minimum is left once pending bank payments and other payers' open
// checkouts are counted.
func canPayNow(v syncer.PayView) bool {
	return v.Payable.Amount > 0 && v.Payable.Amount >= v.Minimum.Amount
}

// closed renders the plain page of an invoice that cannot be paid here.
func (h *Handler) closed(w http.ResponseWriter, r *http.Request, v syncer.PayView, expired bool) {
	m := message{Invoice: summarize(v.InvoiceView), Receipts: h.paymentRows(v.Payments)}
	status := http.StatusOK
	switch {
	case expired:
		status = http.StatusNotFound
		m.Title = "This payment link has expired"
		m.Text = "Ask " + h.businessName() + " for a new link to pay invoice " + v.Invoice.Number + "."
	case v.Invoice.Status == stripesync.InvoiceVoid:
		m.Title = "This invoice was cancelled"
		m.Text = "Invoice " + v.Invoice.Number + " is void: there is nothing to pay."
	case v.Rollup.Status == stripesync.InvoicePaid || v.Rollup.Balance.Amount <= 0:
		m.Title = "This invoice is paid"
		m.Text = "Invoice " + v.Invoice.Number + " is paid in full. Thank you!"
	case v.Open && v.Reserved.Amount == 0 && v.Rollup.Pending.Amount > 0:
		m.Title = "This invoice is being paid"
		m.Text = "A bank payment of " + v.Rollup.Pending.String() + " for invoice " + v.Invoice.Number + " is on its way and covers the balance. We will e-mail the receipt when it settles."
	case v.Open:
		m.Title = "Another payment of this invoice is in progress"
		m.Text = "Someone is paying invoice " + v.Invoice.Number + " right now. If that payment is not completed, the invoice can be paid here again within the hour."
		if r.Method == http.MethodPost {
			status = http.StatusConflict // the payment asked for is refused
		}
	case v.Invoice.Status == stripesync.InvoiceDraft:
		m.Title = "This invoice is not ready to be paid"
		m.Text = "Invoice " + v.Invoice.Number + " has not been issued yet."
	default:
		m.Title = "This invoice cannot be paid online"
		m.Text = "Please contact " + h.businessName() + " to pay invoice " + v.Invoice.Number + "."
	}
	h.render(w, r, status, "message", m)
}

func (h *Handler) renderForm(w http.ResponseWriter, r *http.Request, status int, v syncer.PayView, holder, errText, amount, chosen string) {
	f := payForm{
		Invoice: summarize(v.InvoiceView), Payments: h.paymentRows(v.Payments),
		Action: r.URL.Path, Nonce: h.nonces.issue(v.Invoice.ID, holder),
		Amount: amount, Currency: v.Invoice.Total.Currency, Minimum: v.Minimum,
		Payable: v.Payable, Reserved: v.Reserved, Bank: v.BankAllowed,
		Error: errText, Business: h.businessName(), Chosen: chosen,
	}
	for _, m := range v.Methods {
		f.Methods = append(f.Methods, methodOption{Value: "saved:" + m.ID, Label: m.Label(), Bank: m.Type == stripesync.MethodTypeBank})
	}
	f.Methods = append(f.Methods, methodOption{Value: stripesync.MethodTypeCard, Label: "A new card"})
	if v.BankAllowed {
		f.Methods = append(f.Methods, methodOption{Value: stripesync.MethodTypeBank, Label: "A new US bank account", Bank: true})
	}
	if f.Chosen == "" {
		f.Chosen = f.Methods[0].Value
	}
	h.render(w, r, status, "pay", f)
}

func (h *Handler) paySubmit(w http.ResponseWriter, r *http.Request) {
	l, expired, ok := h.payLink(w, r)
	if !ok {
		return
	}
	if err := ReadForm(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	v, holder, ok := h.payableInvoice(w, r, l, expired)
	if !ok {
		return
	}
	nonce, amountText, choice := r.PostForm.Get("nonce"), r.PostForm.Get("amount"), r.PostForm.Get("method")
	refuse := func(err error) {
		h.renderForm(w, r, httpapi.Status(err), v, holder, customerMessage(err), amountText, choice)
	}
	if !h.nonces.check(nonce, l.Subject, holder) {
		refuse(stripesync.Errorf(stripesync.EINVALID, "This form has expired; check the amount and try again"))
		return
	}
	amount, err := parseAmount(amountText, v.Invoice.Total.Currency)
	if err != nil {
		refuse(err)
		return
	}
	req := syncer.PayRequest{
		InvoiceID: l.Subject, Holder: holder, Nonce: nonce, Amount: amount,
		SuccessURL: h.cfg.PublicURL + r.URL.Path + "/return?session_id={CHECKOUT_SESSION_ID}",
		CancelURL:  h.cfg.PublicURL + r.URL.Path + "/cancel?n=" + url.QueryEscape(nonce),
	}
	switch {
	case strings.HasPrefix(choice, "saved:"):
		req.MethodID = strings.TrimPrefix(choice, "saved:")
		// The mandate is the text of the form the nonce was issued with,
		// so its acceptance is stamped with the form's issue time: a
		// repeat of the submit (a double click, a reload) must send Stripe
		// the same parameters under the same idempotency key, or Stripe
		// refuses it and the payer is told nothing was charged when it was.
		req.Mandate = &stripesync.MandateAcceptance{AcceptedAt: h.nonces.issued(nonce), IPAddress: clientIP(r), UserAgent: r.UserAgent()}
	case choice == stripesync.MethodTypeCard || choice == stripesync.MethodTypeBank:
		req.NewMethod = choice
	default:
		refuse(stripesync.Errorf(stripesync.EINVALID, "Choose how to pay"))
		return
	}
	res, err := h.cfg.Collection.Pay(r.Context(), req)
	if err != nil {
		if code := httpapi.Status(err); code >= 500 {
			h.cfg.Logger.Error("payment failed", "invoice_id", l.Subject, "error", err)
		}
		refuse(err)
		return
	}
	switch {
	case res.CheckoutURL != "":
		http.Redirect(w, r, res.CheckoutURL, http.StatusSeeOther)
	default:
		h.paid(w, r, res.Payment)
	}
}

// paid sends the customer on after a payment: to the receipt when it
// succeeded, to the "on its way" page while a bank debit settles.
func (h *Handler) paid(w http.ResponseWriter, r *http.Request, p stripesync.Payment) {
	if p.Status == stripesync.PaymentSucceeded && p.ReceiptNumber != "" {
		http.Redirect(w, r, h.cfg.ReceiptURL(p.ID), http.StatusSeeOther)
		return
	}
	v, err := h.cfg.Collection.PayView(r.Context(), p.InvoiceID, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "pending", pending{
		Invoice: summarize(v.InvoiceView), Amount: p.Amount, Method: p.MethodDetail,
		Business: h.businessName(), Back: "/pay/" + r.PathValue("token"),
		Verify: p.Status == stripesync.PaymentAwaitingVerification,
	})
}

// pending is the page of a bank payment still settling, or still waiting
// for the customer to confirm the micro-deposits of a bank account
// entered by hand.
type pending struct {
	Invoice  *invoiceSummary
	Amount   stripesync.Money
	Method   string
	Business string
	Back     string
	// Verify is set while the debit waits for the micro-deposits to be
	// confirmed (status Pending): nothing is debited until they are.
	Verify bool
}

func (p pending) title() string {
	if p.Verify {
		return "Confirm your bank account to finish paying"
	}
	return "Your payment is on its way"
}

// checkoutReturn is Checkout's success_url.
func (h *Handler) checkoutReturn(w http.ResponseWriter, r *http.Request) {
	l, _, ok := h.payLink(w, r)
	if !ok {
		return
	}
	sessionID := r.URL.Query().Get("session_id")
	if !strings.HasPrefix(sessionID, "cs_") || len(sessionID) > 255 {
		h.notFound(w, r)
		return
	}
	out, err := h.cfg.Collection.CheckoutReturned(r.Context(), l.Subject, sessionID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !out.Paid {
		http.Redirect(w, r, "/pay/"+r.PathValue("token"), http.StatusSeeOther)
		return
	}
	h.paid(w, r, out.Payment)
}

// checkoutCancel is Checkout's cancel_url: back to the pay page, with
// nothing reserved.
func (h *Handler) checkoutCancel(w http.ResponseWriter, r *http.Request) {
	l, _, ok := h.payLink(w, r)
	if !ok {
		return
	}
	holder := h.visitorOf(w, r)
	if nonce := r.URL.Query().Get("n"); h.nonces.check(nonce, l.Subject, holder) {
		if err := h.cfg.Collection.CheckoutCanceled(r.Context(), nonce); err != nil {
			h.cfg.Logger.Warn("release canceled checkout", "invoice_id", l.Subject, "error", err)
		}
	}
	http.Redirect(w, r, "/pay/"+r.PathValue("token"), http.StatusSeeOther)
}

// parseAmount reads the amount field exactly, in the currency's minor
// unit. People type "1,250.00" or "$20": separators and a leading currency
// sign are tolerated, nothing else.
func parseAmount(s, currency string) (stripesync.Money, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(t, "$")
	t = strings.TrimPrefix(t, "€")
	t = strings.TrimPrefix(t, "£")
	t = strings.TrimPrefix(t, "¥")
	t = strings.TrimSpace(t)
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		return stripesync.Money{}, stripesync.Errorf(stripesync.EINVALID, "Enter the amount as a number, like %s", example(currency))
	}
	t = thousands(t)
	if t == "" || len(t) > 32 {
		return stripesync.Money{}, stripesync.Errorf(stripesync.EINVALID, "Enter the amount as a number, like %s", example(currency))
	}
	m, err := stripesync.ParseMoney(t, currency)
	if err != nil {
		return stripesync.Money{}, stripesync.Errorf(stripesync.EINVALID, "Enter the amount as a number, like %s", example(currency))
	}
	return m, nil
}

// thousands drops commas that separate groups of three digits before the
// decimal point ("1,250.00"); any other comma is left for ParseMoney to
// refuse.
func thousands(s string) string {
	intPart, frac, dot := strings.Cut(s, ".")
	groups := strings.Split(intPart, ",")
	if len(groups) == 1 {
		return s
	}
	for i, g := range groups {
		if (i == 0 && (len(g) == 0 || len(g) > 3)) || (i > 0 && len(g) != 3) {
			return s
		}
	}
	out := strings.Join(groups, "")
	if dot {
		out += "." + frac
	}
	return out
}

func example(currency string) string {
	return stripesync.Money{Amount: 25 * pow10(stripesync.CurrencyExponent(currency)), Currency: currency}.Decimal()
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// clientIP is the address a mandate is accepted from.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
