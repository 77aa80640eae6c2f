package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/links"
	syncer "github.com/stripesync/stripesync/sync"
)

// portalPage is the customer portal.
type portalPage struct {
	Invoices []portalInvoice
	Receipts []receiptLink
	Methods  []portalMethod
	Action   string // the portal's path
	Nonce    string
	Bank     bool // bank accounts can be added (a USD invoice)
	Customer bool // the account has a Stripe customer: methods can be managed
	Notice   string
	Error    string
}

func (portalPage) title() string { return "Your invoices" }

type portalInvoice struct {
	Number  string
	Status  stripesync.InvoiceStatus
	Due     time.Time
	Total   stripesync.Money
	Balance stripesync.Money
	PayURL  string // "" when nothing can be paid
}

type portalMethod struct {
	ID      string
	Label   string
	Default bool
}

// portalLink resolves the token of a /portal/ request, or sends the page
// of a link that is not valid or expired (ok false).
func (h *Handler) portalLink(w http.ResponseWriter, r *http.Request) (links.Link, bool) {
	l, err := h.cfg.VerifyPortal(r.PathValue("token"))
	switch {
	case err == nil:
		return l, true
	case errors.Is(err, syncer.ErrLinkExpired):
		h.render(w, r, http.StatusNotFound, "message", message{
			Title: "This portal link has expired",
			Text:  "Ask " + h.businessName() + " for a new link to see your invoices.",
		})
	case stripesync.CodeOf(err) == stripesync.ENOTFOUND:
		h.notFound(w, r)
	default:
		h.fail(w, r, err)
	}
	return l, false
}

func (h *Handler) portalPage(w http.ResponseWriter, r *http.Request) {
	l, ok := h.portalLink(w, r)
	if !ok {
		return
	}
	h.renderPortal(w, r, http.StatusOK, l, r.URL.Query().Get("done"), "")
}

// portalNotices are the confirmations a redirect back to the portal may
// ask for (?done=…); nothing else from the query is shown.
var portalNotices = map[string]string{
	"removed": "The payment method was removed.",
	"default": "Your default payment method was changed. Auto-pay will use it.",
	"added":   "Your new payment method was saved.",
}

func (h *Handler) renderPortal(w http.ResponseWriter, r *http.Request, status int, l links.Link, done, errText string) {
	v, err := h.cfg.Collection.Portal(r.Context(), l.Subject)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	holder := h.visitorOf(w, r)
	p := portalPage{
		Action: "/portal/" + r.PathValue("token"), Nonce: h.nonces.issue("portal:"+l.Subject, holder),
		Customer: v.CustomerID != "", Notice: portalNotices[done], Error: errText,
	}
	for _, iv := range v.Invoices {
		pi := portalInvoice{Number: iv.Invoice.Number, Status: iv.Rollup.Status, Due: iv.Invoice.DueDate, Total: iv.Invoice.Total, Balance: iv.Rollup.Balance}
		if iv.Invoice.Total.Currency == "USD" {
			p.Bank = true
		}
		if p.Customer && iv.Payable.Amount > 0 && iv.Rollup.Status != stripesync.InvoiceVoid && iv.Rollup.Status != stripesync.InvoiceDraft {
			// A pay link lives as long as the portal link it came from.
			tok, err := h.cfg.Links.Token(links.Link{Kind: links.Pay, Subject: iv.Invoice.ID, Issued: h.cfg.Now(), Expires: l.Expires})
			if err == nil {
				pi.PayURL = "/pay/" + tok
			}
		}
		p.Invoices = append(p.Invoices, pi)
		p.Receipts = append(p.Receipts, h.paymentRows(iv.Payments)...)
	}
	for _, m := range v.Methods {
		p.Methods = append(p.Methods, portalMethod{ID: m.ID, Label: m.Label(), Default: m.Default})
	}
	h.render(w, r, status, "portal", p)
}

// portalForm reads and checks a portal form: its link, body and nonce.
func (h *Handler) portalForm(w http.ResponseWriter, r *http.Request) (links.Link, bool) {
	l, ok := h.portalLink(w, r)
	if !ok {
		return l, false
	}
	if err := ReadForm(w, r); err != nil {
		h.fail(w, r, err)
		return l, false
	}
	if !h.nonces.check(r.PostForm.Get("nonce"), "portal:"+l.Subject, h.visitorOf(w, r)) {
		h.renderPortal(w, r, http.StatusBadRequest, l, "", "This form has expired; please try again.")
		return l, false
	}
	return l, true
}

func (h *Handler) portalMethod(w http.ResponseWriter, r *http.Request) {
	l, ok := h.portalForm(w, r)
	if !ok {
		return
	}
	id := r.PostForm.Get("method")
	if !strings.HasPrefix(id, "pm_") || len(id) > 255 {
		h.renderPortal(w, r, http.StatusBadRequest, l, "", "Choose a payment method.")
		return
	}
	var err error
	done := ""
	switch r.PostForm.Get("action") {
	case "remove":
		err, done = h.cfg.Collection.RemoveMethod(r.Context(), l.Subject, id), "removed"
	case "default":
		err, done = h.cfg.Collection.SetDefaultMethod(r.Context(), l.Subject, id), "default"
	default:
		err = stripesync.Errorf(stripesync.EINVALID, "Choose what to do with the payment method.")
	}
	if err != nil {
		h.renderPortal(w, r, httpapi.Status(err), l, "", customerMessage(err))
		return
	}
	http.Redirect(w, r, "/portal/"+r.PathValue("token")+"?done="+done, http.StatusSeeOther)
}

func (h *Handler) portalAdd(w http.ResponseWriter, r *http.Request) {
	l, ok := h.portalForm(w, r)
	if !ok {
		return
	}
	v, err := h.cfg.Collection.Portal(r.Context(), l.Subject)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	currency := ""
	for _, iv := range v.Invoices {
		if currency == "" || iv.Invoice.Total.Currency == "USD" {
			currency = iv.Invoice.Total.Currency
		}
	}
	base := h.cfg.PublicURL + "/portal/" + r.PathValue("token")
	url, err := h.cfg.Collection.AddMethod(r.Context(), syncer.AddMethodRequest{
		AccountID: l.Subject, Nonce: r.PostForm.Get("nonce"), Method: r.PostForm.Get("kind"),
		Currency: currency, SuccessURL: base + "/added", CancelURL: base,
	})
	if err != nil {
		h.renderPortal(w, r, httpapi.Status(err), l, "", customerMessage(err))
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}

func (h *Handler) portalAdded(w http.ResponseWriter, r *http.Request) {
	l, ok := h.portalLink(w, r)
	if !ok {
		return
	}
	if err := h.cfg.Collection.MethodAdded(r.Context(), l.Subject); err != nil {
		h.cfg.Logger.Warn("refresh methods after setup", "account_id", l.Subject, "error", err)
	}
	http.Redirect(w, r, "/portal/"+r.PathValue("token")+"?done=added", http.StatusSeeOther)
}

func (h *Handler) portalStripe(w http.ResponseWriter, r *http.Request) {
	l, ok := h.portalForm(w, r)
	if !ok {
		return
	}
	url, err := h.cfg.Collection.BillingPortal(r.Context(), l.Subject, h.cfg.PublicURL+"/portal/"+r.PathValue("token"))
	if err != nil {
		h.renderPortal(w, r, httpapi.Status(err), l, "", customerMessage(err))
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}
